export type RecoveryCheck = { second_factor_required: boolean, methods: Array<string>, };
