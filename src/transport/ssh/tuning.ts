/** Knobs for tests and benchmarks; the defaults suit real deploys. */
export interface SshTuning {
  /** Files open at once over SFTP (writes, reads, hashes). Default 64. */
  concurrency?: number;
  /** How hashFiles computes ids: `auto` (perl, then sh + sha1sum/sha256sum, then SFTP reads) or one of them. */
  hashMethod?: 'auto' | 'perl' | 'sh' | 'sftp';
  /** SSH keepalive: a probe every interval; the connection is dropped after `keepaliveCountMax` unanswered. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /**
   * Write files and rename them through one perl process on the host (perl-helper-protocol.ts) where
   * the host has perl: default true. false: SFTP requests only.
   */
  bulkOps?: boolean;
}
