/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
export type PruneResultDto = {
    /**
     * Snapshot folders removed
     */
    removed: Array<string>;
    /**
     * Old snapshot folders kept because a download is streaming them
     */
    skipped_in_use: Array<string>;
};

