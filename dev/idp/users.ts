import { createHash } from 'node:crypto';
import type { DevUser } from './types';

/** The demo tenant ("contoso.dev"). Fixed, so MSAL home account ids are the same on every run. */
export const DEV_TENANT_ID = '7d3c2a8e-4b1f-4e6a-9c05-2f8e1b6d4a90';

export const DEFAULT_USERS: readonly DevUser[] = [
  {
    sub: 'Xk3m9VQfA2pL7tR1cN8bW5yZ0sD4hJ6gE2uK9oPqM1w',
    oid: '1f0c5a2e-8d4b-4c3a-9e71-6b2d0f8a3c51',
    tid: DEV_TENANT_ID,
    name: 'Ada Lovelace',
    username: 'ada@contoso.dev',
    email: 'ada@contoso.dev',
    password: 'password',
  },
  {
    sub: 'Rt7bN2qW9eY4uI1oP6aS3dF8gH5jK0lZ2xC7vB4nM9q',
    oid: '5b9e3d7a-2c6f-4a18-b0d4-8e1f7c3a9b62',
    tid: DEV_TENANT_ID,
    name: 'Grace Hopper',
    username: 'grace@contoso.dev',
    email: 'grace@contoso.dev',
    password: 'password',
  },
];

/** A stable, UUID-shaped object id for a client's service principal (the subject of its app tokens). */
export function servicePrincipalId(clientId: string): string {
  const hex = createHash('sha256').update(`sp:${clientId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function findUser(users: readonly DevUser[], username: string): DevUser | undefined {
  const wanted = username.trim().toLowerCase();
  return users.find((user) => user.username.toLowerCase() === wanted);
}
