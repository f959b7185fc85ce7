//! The tables as diesel sees them. The SQL lives in `migrations/postgres/`
//! and `migrations/sqlite/`; both create these columns with these types
//! (TEXT ids, BIGINT/INTEGER microsecond times), so one description serves
//! both backends.

diesel::table! {
    tenants (id) {
        id -> Text,
        name -> Text,
        password_policy -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    users (tenant_id, id) {
        id -> Text,
        tenant_id -> Text,
        username -> Text,
        username_key -> Text,
        email -> Text,
        email_key -> Text,
        status -> Text,
        password_hash -> Nullable<Text>,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
        profile -> Text,
        last_auth_at -> Nullable<BigInt>,
        last_auth_valid_until -> Nullable<BigInt>,
        last_auth_location -> Nullable<Text>,
        first_name_key -> Nullable<Text>,
        last_name_key -> Nullable<Text>,
        username_skeleton -> Nullable<Text>,
        external_id -> Nullable<Text>,
    }
}

diesel::table! {
    user_roles (tenant_id, user_id, role) {
        tenant_id -> Text,
        user_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    user_organizations (tenant_id, user_id, organization) {
        tenant_id -> Text,
        user_id -> Text,
        organization -> Text,
    }
}

diesel::table! {
    user_attributes (tenant_id, user_id, name) {
        tenant_id -> Text,
        user_id -> Text,
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    user_history (tenant_id, user_id, version) {
        tenant_id -> Text,
        user_id -> Text,
        version -> BigInt,
        actor -> Text,
        at -> BigInt,
        changes -> Text,
        comment -> Nullable<Text>,
        feed_seq -> BigInt,
    }
}

diesel::table! {
    tenant_feed (tenant_id) {
        tenant_id -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        tenant_id -> Text,
        url -> Text,
        event_types -> Text,
        description -> Nullable<Text>,
        secret -> Text,
        created_at -> BigInt,
        cursor_seq -> BigInt,
        cursor_index -> BigInt,
        state -> Text,
        attempts -> BigInt,
        failing_since -> Nullable<BigInt>,
        next_attempt_at -> BigInt,
        lease_id -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_cursor -> Text,
        event_type -> Text,
        attempt -> BigInt,
        at -> BigInt,
        status_code -> Nullable<BigInt>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        next_retry_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        tenant_id -> Text,
        prefix -> Text,
        key_hash -> Text,
        roles -> Text,
        label -> Nullable<Text>,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        access_hash -> Text,
        access_expires_at -> BigInt,
        refresh_hash -> Text,
        refresh_expires_at -> BigInt,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    attribute_definitions (tenant_id, name) {
        tenant_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    login_failures (tenant_id, login, address) {
        tenant_id -> Text,
        login -> Text,
        address -> Text,
        failures -> Integer,
        last_failure_at -> BigInt,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    organizations (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        display_name -> Text,
        display_name_key -> Text,
        external_id -> Nullable<Text>,
        version -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

// A user is identified by (tenant_id, id), and the tables derived from it
// (user_roles, user_organizations, user_attributes, sessions) refer to it by
// (tenant_id, user_id). diesel's `joinable!` supports only a single-column
// foreign key, so there is none: queries that relate these tables write the
// condition on both columns themselves (the EXISTS filters in `list`).

diesel::table! {
    /// Exact user counts per tenant, kind ('all', 'role', 'organization'),
    /// name and status, kept by triggers in every write's transaction.
    user_counts (tenant_id, kind, name, status) {
        tenant_id -> Text,
        kind -> Text,
        name -> Text,
        status -> Text,
        n -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    users,
    user_roles,
    user_organizations,
    user_attributes,
    user_history,
    api_keys,
    sessions,
    attribute_definitions,
    tenant_feed,
    webhooks,
    webhook_deliveries,
    organizations,
    user_counts,
);
