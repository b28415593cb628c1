/** Who a request acts for: a customer (API token or portal session), a vendor, or an admin. `tokenId`: the API token's id (via token). */
export type Principal =
  | { readonly kind: 'customer'; readonly customer: string; readonly via: 'token' | 'session'; readonly label: string; readonly tokenId?: number }
  | { readonly kind: 'vendor'; readonly vendor: string; readonly via: 'token'; readonly label: string; readonly tokenId: number }
  | { readonly kind: 'admin'; readonly via: 'token'; readonly label: string; readonly tokenId: number };

export type Role = Principal['kind'];
