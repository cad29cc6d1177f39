/**
 * A stand-in for `@alicloud/credentials` in the bundle (see `BUNDLE_ALIASES` in ../sdk-workarounds.ts).
 *
 * openapi-client only ever hands it static keys here: its constructor builds `new Credential(new Config({ type:
 * 'access_key' | 'sts', accessKeyId, accessKeySecret }))` (plus `securityToken`) and each call awaits
 * `getCredential()`. The real package also carries the providers this function never uses (ECS metadata, OIDC,
 * RAM role ARN, CLI profiles, a child_process for external commands): 40% of the bundle's bytes. This returns
 * the same credential model for the two static types and refuses any other type loudly.
 */

/** The fields openapi-client sets; the rest of the real `Config` is for providers this stand-in refuses. */
export class Config {
  type?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  bearerToken?: string;
  constructor(map: Record<string, unknown> = {}) {
    Object.assign(this, map);
  }
}

/** What the real `getCredential()` resolves to for static keys (`CredentialModel`, same fields, same order). */
export interface CredentialModel {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
  type: 'access_key' | 'sts';
  providerName: 'static_ak' | 'static_sts';
}

export default class Credential {
  private readonly model: CredentialModel;

  constructor(config: Config) {
    const { type, accessKeyId, accessKeySecret, securityToken } = config;
    if ((type !== 'access_key' && type !== 'sts') || !accessKeyId || !accessKeySecret) {
      throw new Error(
        `static-credentials: only static AccessKey or STS keys are supported, not '${String(type)}'`,
      );
    }
    this.model =
      type === 'sts'
        ? {
            accessKeyId,
            accessKeySecret,
            securityToken: securityToken ?? '',
            type,
            providerName: 'static_sts',
          }
        : { accessKeyId, accessKeySecret, type, providerName: 'static_ak' };
  }

  async getCredential(): Promise<CredentialModel> {
    return { ...this.model };
  }
  async getAccessKeyId(): Promise<string> {
    return this.model.accessKeyId;
  }
  async getAccessKeySecret(): Promise<string> {
    return this.model.accessKeySecret;
  }
  async getSecurityToken(): Promise<string | undefined> {
    return this.model.securityToken;
  }
  getType(): string {
    return this.model.type;
  }
}
