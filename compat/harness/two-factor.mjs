// better-auth's two-factor plugin for better-auth-server.mjs, switched by environment variables:
//   TWO_FACTOR=1            twoFactor() with its defaults (TOTP, backup codes, lockout)
//   TWO_FACTOR_ISSUER       its `issuer` (better-auth's default is the app name, "Better Auth")
//   TWO_FACTOR_OTP_SMTP_PORT otpOptions.sendOTP, mailing "Your code <otp>" to that SMTP server
//                            (apart from SMTP_PORT, which also turns email verification on)
// authkeep's equivalent is `[two_factor]` (twoFactorEnv below gives the matching variables).
import { twoFactor } from "better-auth/plugins/two-factor";
import nodemailer from "nodemailer";

export function twoFactorPlugins(env) {
  if (env.TWO_FACTOR !== "1") return [];
  const port = env.TWO_FACTOR_OTP_SMTP_PORT ? Number(env.TWO_FACTOR_OTP_SMTP_PORT) : null;
  const transport = port && nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
  const mail = (to, subject) => transport.sendMail({ from: "Acme <no-reply@acme.test>", to, subject, text: subject });
  return [
    twoFactor({
      ...(env.TWO_FACTOR_ISSUER ? { issuer: env.TWO_FACTOR_ISSUER } : {}),
      ...(transport ? { otpOptions: { sendOTP: async ({ user, otp }) => mail(user.email, `Your code ${otp}`) } } : {}),
    }),
  ];
}

/** authkeep's variables for the same plugin options. */
export function twoFactorEnv({ issuer, otpSmtpPort } = {}) {
  return {
    AUTHKEEP_TWO_FACTOR__ENABLED: "true",
    ...(issuer ? { AUTHKEEP_TWO_FACTOR__ISSUER: issuer } : {}),
    ...(otpSmtpPort
      ? {
          AUTHKEEP_TWO_FACTOR__OTP_BY_EMAIL: "true",
          AUTHKEEP_EMAIL__SMTP_URL: `smtp://127.0.0.1:${otpSmtpPort}`,
          AUTHKEEP_EMAIL__FROM: "Acme <no-reply@acme.test>",
        }
      : {}),
  };
}
