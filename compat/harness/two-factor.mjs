// better-auth's two-factor plugin for better-auth-server.mjs, switched by environment variables:
//   TWO_FACTOR=1            twoFactor() with its defaults (TOTP, backup codes, lockout)
//   TWO_FACTOR_ISSUER       its `issuer` (better-auth's default is the app name, "Better Auth")
//   TWO_FACTOR_OTP=1        otpOptions.sendOTP through the harness's mail (needs SMTP_PORT)
// authkeep's equivalent is `[two_factor]` (twoFactorEnv below gives the matching variables).
import { twoFactor } from "better-auth/plugins/two-factor";

export function twoFactorPlugins(env, mail) {
  if (env.TWO_FACTOR !== "1") return [];
  return [
    twoFactor({
      ...(env.TWO_FACTOR_ISSUER ? { issuer: env.TWO_FACTOR_ISSUER } : {}),
      ...(env.TWO_FACTOR_OTP === "1"
        ? { otpOptions: { sendOTP: async ({ user, otp }) => mail(user.email, `Your code ${otp}`, otp) } }
        : {}),
    }),
  ];
}

/** authkeep's variables for the same plugin options. */
export function twoFactorEnv({ issuer, otp } = {}) {
  return {
    AUTHKEEP_TWO_FACTOR__ENABLED: "true",
    ...(issuer ? { AUTHKEEP_TWO_FACTOR__ISSUER: issuer } : {}),
    ...(otp ? { AUTHKEEP_TWO_FACTOR__OTP_BY_EMAIL: "true" } : {}),
  };
}
