/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
export type SnapshotDeletedDto = {
    /**
     * Name of the snapshot folder that was removed
     */
    name: string;
};

