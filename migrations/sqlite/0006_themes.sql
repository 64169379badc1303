-- Themes: a reseller's brand (company_id = 0) and per-company overrides. NULL means "inherit".
CREATE TABLE themes (
    reseller_id BIGINT NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    company_id BIGINT NOT NULL DEFAULT 0,
    product_name TEXT,
    logo TEXT,
    favicon TEXT,
    primary_color TEXT,
    accent_color TEXT,
    background_color TEXT,
    text_color TEXT,
    base_theme TEXT,
    sender_name TEXT,
    sender_email TEXT,
    support_url TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (reseller_id, company_id)
);

-- Uploaded logos and favicons, content-addressed and served from the tenant's own domain.
CREATE TABLE brand_images (
    reseller_id BIGINT NOT NULL REFERENCES resellers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    data_base64 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (reseller_id, name)
);

ALTER TABLE companies ADD COLUMN hidden_controls TEXT NOT NULL DEFAULT '[]';
