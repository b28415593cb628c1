export { CodedError } from './coded-error.js';
export { defineError, isError, codeOf, codesOf, type CodeOf, type ErrorCatalogue, type ErrorDefinition } from './define.js';
export { CommonErrors } from './common.js';
