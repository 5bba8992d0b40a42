export type Support = { phone: string | null, email: string | null, url: string | null, };
