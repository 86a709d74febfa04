/** Printed in every error message, as viem does, so a bug report says which code threw. */
export const version = '@stoa/protocol@0.1.0'
