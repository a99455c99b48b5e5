-- better-auth 1.7.25's jwt plugin table, as its migrations create it on SQLite.
create table if not exists "jwks" ("id" text not null primary key, "publicKey" text not null, "privateKey" text not null, "createdAt" date not null, "expiresAt" date, "alg" text, "crv" text);
