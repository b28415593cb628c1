/** What a client banned by the defender is told, in FTP's 421 and in SSH's disconnect alike. */
export const BANNED_WORDS = 'Too many failed logins from your address: banned for a while, try again later';
