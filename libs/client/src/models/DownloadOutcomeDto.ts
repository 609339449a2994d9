/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
export type DownloadOutcomeDto = {
    /**
     * What went wrong, when it failed
     */
    error_text: string | null;
    /**
     * SHA-256 of the exact bytes sent, hex
     */
    sha256_hex: string;
    /**
     * Whether the whole archive was sent
     */
    success: boolean;
};

