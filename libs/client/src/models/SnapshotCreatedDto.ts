/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
export type SnapshotCreatedDto = {
    /**
     * Name of the new snapshot folder
     */
    name: string;
};

