/** Who an authenticated admin call is made by; named in every audit record it causes. */
export interface AdminIdentity {
  id: string
  name: string
  roles: string[]
}
