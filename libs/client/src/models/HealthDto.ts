/* generated using openapi-typescript-codegen -- do not edit */
/* istanbul ignore file */
/* tslint:disable */
/* eslint-disable */
export type HealthDto = {
    /**
     * Each check and its result, "ok" or what is wrong
     */
    checks: Record<string, string>;
    ok: boolean;
};

