/** Passive FTP port ranges of the benchmark's servers: disjoint, and below Linux's ephemeral range (32768-60999). */
export const FTP_PASSIVE = Object.freeze({ min: 31000, max: 31199 });
export const VSFTPD_PASSIVE = Object.freeze({ min: 31200, max: 31399 });
