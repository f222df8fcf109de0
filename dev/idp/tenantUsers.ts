import { DEFAULT_USERS, DEV_TENANT_ID } from './users';
import type { DevUser } from './types';

/**
 * A second organization and a guest, for multi-tenant sign-in: Bob belongs to Fabrikam; Eve is a
 * Fabrikam user invited into Contoso as a guest (her tokens from Contoso carry Contoso's `tid`
 * and her guest object id; client_info names her home tenant, as Entra does).
 */
export const FABRIKAM_TENANT_ID = '3c8e5f1a-6b2d-4e7f-a1c9-0d4b8e2f6a73';

export const FABRIKAM_USER: DevUser = {
  sub: 'Fb2kL8mN4pQ7rS1tU5vW9xY3zA6bC0dE2fG4hJ8kL1m',
  oid: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
  tid: FABRIKAM_TENANT_ID,
  name: 'Bob Kahn',
  username: 'bob@fabrikam.dev',
  password: 'password',
};

export const GUEST_USER: DevUser = {
  sub: 'Gs7tE9vQ2wR4yT6uI8oP0aS1dF3gH5jK7lZ9xC2vB4n',
  oid: '2d4f6a8c-1e3b-4d5f-9a7c-6e8b0d2f4a61',
  tid: DEV_TENANT_ID,
  name: 'Eve Guest',
  username: 'eve@fabrikam.dev',
  password: 'password',
  home: { oid: '7e9a1c3e-5b7d-4f9b-8d1f-3a5c7e9b1d27', tid: FABRIKAM_TENANT_ID },
};

export const MULTI_TENANT_USERS: readonly DevUser[] = [...DEFAULT_USERS, FABRIKAM_USER, GUEST_USER];
