/** Who a request acts for: a customer (API token or portal session), a vendor, or an admin. */
export type Principal =
  | { readonly kind: 'customer'; readonly customer: string; readonly via: 'token' | 'session'; readonly label: string }
  | { readonly kind: 'vendor'; readonly vendor: string; readonly via: 'token'; readonly label: string }
  | { readonly kind: 'admin'; readonly via: 'token'; readonly label: string };

export type Role = Principal['kind'];
