/**
 * Limits raised for the run (and said so in the output): the bench sends tens of thousands of
 * starts to one country in seconds, which the default limits and abuse rules rightly refuse.
 * Every rule still runs and counts; none fires. Numbers and end-user addresses are random too.
 */
export const RAISED_LIMITS: Record<string, string> = {
  LIMIT_NUMBER_STARTS_10M: '1000000',
  LIMIT_NUMBER_STARTS_DAY: '1000000',
  LIMIT_IP_STARTS_10M: '1000000',
  LIMIT_SUBNET_STARTS_10M: '1000000',
  LIMIT_COUNTRY_STARTS_HOUR: '100000000',
  LIMIT_APP_STARTS_HOUR: '100000000',
  LIMIT_NUMBER_CHECKS_DAY: '1000000',
  LIMIT_IP_CHECKS_HOUR: '1000000',
  ABUSE_PREFIX_STARTS_10M: '1000000',
  ABUSE_IP_FANOUT_HOUR: '1000000',
  ABUSE_SEQUENTIAL_HOUR: '1000000',
  ABUSE_CONVERSION_MIN_STARTS: '1000000',
  ABUSE_COUNTRY_CONVERSION_MIN_STARTS: '10000000',
};
