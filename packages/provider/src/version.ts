/** Reported by `GET /v1/health`. */
export const providerVersion = '@stoa/provider@0.1.0'
