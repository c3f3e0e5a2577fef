/** The parts of ssh2 diffship uses (connect.ts loads just their files): its client, key parser and OpenSSH agent client. */
type Ssh2Index = typeof import('ssh2');
export type Ssh2 = Pick<Ssh2Index, 'Client' | 'OpenSSHAgent'> & {
  utils: Pick<Ssh2Index['utils'], 'parseKey'>;
};
