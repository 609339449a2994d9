/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
import type { DownloadOutcomeDto } from './DownloadOutcomeDto';
export type DownloadStatusDto = {
    /**
     * null while the archive is still streaming
     */
    finished: DownloadOutcomeDto | null;
    /**
     * Download id, from the X-Prombackup-Download-Id header
     */
    id: string;
    snapshot_name: string;
};

