/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
import type { OtherEntryType } from './OtherEntryType';
export type OtherEntryDto = {
    /**
     * Name in the snapshot folder; bytes that are not UTF-8 are shown as \xNN
     */
    name: string;
    /**
     * Bytes of a file; for a folder the bytes of the regular files below it; 0 otherwise
     */
    size: number;
    /**
     * other: a link, device, pipe or socket (never followed)
     */
    type: OtherEntryType;
};

