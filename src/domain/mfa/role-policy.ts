// Second factors required by role (MFA_REQUIRED_ROLES): an account holding such a role gets nothing from /admin
// until it has an active second factor (an app, or a passkey that counts as one: SecondStep.hasFactor;
// mfa_enrolment_required, 403, which tells the client to enrol: the
// enrolment routes under /auth/mfa stay open to it), and once it has one, a token from a sign-in made without
// it (a session older than the enrolment) is refused with 401 step_up_required (RFC 9470: acr_values "2")
// until the user steps up or signs in again with the factor. The roles are read from the database by the
// caller, so a role granted a minute ago counts.
import { DomainError } from '../domain-error.js';

export class MfaRolePolicy {
  private readonly required: Set<string>;

  constructor(
    requiredRoles: readonly string[],
    /** Whether the account has a second factor (SecondStep.hasFactor). */
    private readonly hasFactor: (userId: string) => Promise<boolean>,
    /** How long a step-up raises a session (STEP_UP_MAX_AGE_SECONDS): the challenge's max_age. */
    private readonly stepUpMaxAgeSeconds: number,
  ) {
    this.required = new Set(requiredRoles);
  }

  /** Throws when `roles` include one that requires a second factor and the user or the token falls short. */
  async check(userId: string, roles: readonly string[], tokenAcr: string | undefined): Promise<void> {
    const role = roles.find((r) => this.required.has(r));
    if (!role) return;
    if (!(await this.hasFactor(userId)))
      throw new DomainError('mfa_enrolment_required', { detail: `role ${role} requires a second factor` });
    if (tokenAcr !== '2')
      throw new DomainError('step_up_required', {
        detail: `role ${role}: token without a second factor`,
        stepUp: { acrValues: '2', maxAge: this.stepUpMaxAgeSeconds },
      });
  }
}
