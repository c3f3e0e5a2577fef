export const id = 885;
export const ids = [885];
export const modules = {

/***/ 43885:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   createPathFilter: () => (/* binding */ createPathFilter)
/* harmony export */ });
/* harmony import */ var minimatch__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(91138);
/* harmony import */ var _ignore_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(95245);
/**
 * Path filters: include/exclude minimatch globs. Pure. Globs apply to
 * source-relative paths; dot files are matched; exclude wins.
 */


/**
 * Build the filter. A pattern ending in "/" means everything under that folder
 * (plain minimatch would match nothing, since only files are tested).
 * The ignore file itself is always filtered out: it is never shipped.
 */
function createPathFilter({ include = [], exclude = [] }) {
    const includes = include.map(compile);
    const excludes = exclude.map(compile);
    return (path) => {
        if (path === _ignore_js__WEBPACK_IMPORTED_MODULE_1__/* .IGNORE_FILE */ .S)
            return false;
        if (includes.length > 0 && !includes.some((m) => m.match(path)))
            return false;
        return !excludes.some((m) => m.match(path));
    };
}
function compile(pattern) {
    const glob = pattern.endsWith('/') ? `${pattern}**` : pattern;
    return new minimatch__WEBPACK_IMPORTED_MODULE_0__/* .Minimatch */ .VR(glob, { dot: true });
}
//# sourceMappingURL=filter.js.map

/***/ })

};
