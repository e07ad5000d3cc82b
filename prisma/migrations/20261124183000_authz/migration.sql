-- Roles, disabled accounts and the replay store of client assertions (issue 13).
-- (No apostrophes in these comments: the PostgreSQL migration runner reads them as string quotes.)

-- A disabled account cannot log in, and disabling it also ends its sessions.
ALTER TABLE "users" ADD COLUMN "disabled_at" TIMESTAMPTZ(3);

-- A user has zero or more roles. Deleting the user deletes its roles.
CREATE TABLE "user_roles" (
    "user_id" UUID NOT NULL,
    "role" TEXT NOT NULL,
    "granted_at" TIMESTAMPTZ(3) NOT NULL,
    "granted_by" TEXT NOT NULL,

    CONSTRAINT "user_roles_pkey" PRIMARY KEY ("user_id","role")
);

ALTER TABLE "user_roles" ADD CONSTRAINT "user_roles_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The jti of every private_key_jwt client assertion, until it expires: the primary key makes a replay
-- fail on every instance that shares the database.
CREATE TABLE "client_assertion_jtis" (
    "client_id" TEXT NOT NULL,
    "jti" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "client_assertion_jtis_pkey" PRIMARY KEY ("client_id","jti")
);

CREATE INDEX "client_assertion_jtis_expires_at_idx" ON "client_assertion_jtis"("expires_at");
