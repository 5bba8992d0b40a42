export type TotpSetup = { qr_svg: string, secret_groups: Array<string>, issuer: string, account: string, };
