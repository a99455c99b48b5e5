-- better-auth 1.7.25's jwt plugin table, as its migrations create it on PostgreSQL.
create table if not exists "jwks" ("id" text not null primary key, "publicKey" text not null, "privateKey" text not null, "createdAt" timestamptz not null, "expiresAt" timestamptz, "alg" text, "crv" text);
