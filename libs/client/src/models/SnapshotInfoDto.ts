/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
export type SnapshotInfoDto = {
    /**
     * Creation time read from the folder name
     */
    created_at: string | null;
    /**
     * Whether a download is streaming this snapshot right now
     */
    in_use: boolean;
    name: string;
    /**
     * Bytes of all regular files in the snapshot
     */
    size_bytes: number;
};

