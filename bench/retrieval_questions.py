"""Visitor-style questions about the PostgreSQL 15 documentation (Debian's postgresql-doc-15),
each with the page or pages that answer it. Written for porch's retrieval benchmark; about a
quarter name an exact identifier (a setting, a function, an error code) as people paste them.
"""

from __future__ import annotations

QUESTIONS: list[tuple[str, list[str]]] = [
    # Plain-language questions
    ("how do I let more clients connect at the same time?", ["runtime-config-connection.html"]),
    ("how can I back up my database to a single file?", ["backup-dump.html", "app-pgdump.html"]),
    (
        "how do I restore a backup made with the custom format?",
        ["app-pgrestore.html", "backup-dump.html"],
    ),
    (
        "I need a column that numbers rows automatically, like an auto increment id",
        ["datatype-numeric.html", "sql-createtable.html"],
    ),
    ("which kind of index makes full text search fast?", ["textsearch-indexes.html"]),
    ("how can I see which queries are running right now?", ["monitoring-stats.html"]),
    (
        "what is the difference between VACUUM and VACUUM FULL?",
        ["sql-vacuum.html", "routine-vacuuming.html"],
    ),
    ("how do I give a user read only access to a table?", ["sql-grant.html", "ddl-priv.html"]),
    ("can I store JSON documents in a column?", ["datatype-json.html"]),
    (
        "how do I upgrade to a new major version without dumping everything?",
        ["pgupgrade.html", "upgrading.html"],
    ),
    (
        "how do I allow connections from other machines on the network?",
        ["auth-pg-hba-conf.html", "runtime-config-connection.html"],
    ),
    (
        "how do I set up a hot standby server that follows the primary?",
        ["warm-standby.html", "hot-standby.html"],
    ),
    ("how do I read the output of explain analyze?", ["using-explain.html"]),
    ("can I split a big table into partitions by date range?", ["ddl-partitioning.html"]),
    (
        "how do I compute a running total over rows?",
        ["tutorial-window.html", "functions-window.html", "sql-expressions.html"],
    ),
    ("how do I write a recursive query for a tree of categories?", ["queries-with.html"]),
    ("insert a row or update it if it already exists", ["sql-insert.html"]),
    ("how do I load a CSV file into a table?", ["sql-copy.html", "app-psql.html"]),
    (
        "how do I restore the database to how it was at a specific moment yesterday?",
        ["continuous-archiving.html"],
    ),
    (
        "how do I stop a query that has been running for too long?",
        ["functions-admin.html", "runtime-config-client.html"],
    ),
    ("how do I get the current date and time?", ["functions-datetime.html"]),
    ("search text with regular expressions", ["functions-matching.html"]),
    (
        "run a function automatically every time a row is inserted",
        ["sql-createtrigger.html", "plpgsql-trigger.html", "trigger-definition.html"],
    ),
    (
        "make sure a value in one table exists in another table",
        ["ddl-constraints.html", "tutorial-fk.html"],
    ),
    ("should I use char, varchar or text for strings?", ["datatype-character.html"]),
    ("how do I change the data type of an existing column?", ["sql-altertable.html"]),
    (
        "how much disk space does each table use?",
        ["disk-usage.html", "diskusage.html", "functions-admin.html"],
    ),
    (
        "copy changes of some tables to another server with publications and subscriptions",
        [
            "logical-replication.html",
            "logical-replication-publication.html",
            "logical-replication-subscription.html",
        ],
    ),
    ("how do I log queries that are slow?", ["runtime-config-logging.html"]),
    ("how do I list all tables from the command line client?", ["app-psql.html"]),
    (
        "how do I encrypt connections between the client and the server?",
        ["ssl-tcp.html", "libpq-ssl.html"],
    ),
    ("what isolation levels are there for transactions?", ["transaction-iso.html"]),
    ("restrict which rows each user can see in a table", ["ddl-rowsecurity.html"]),
    ("how do I find which queries take the most total time?", ["pgstatstatements.html"]),
    ("case insensitive text column for emails", ["citext.html"]),
    (
        "how much memory should I give to sorting and hash operations?",
        ["runtime-config-resource.html"],
    ),
    (
        "how do I create a new database cluster from scratch?",
        ["app-initdb.html", "creating-cluster.html"],
    ),
    (
        "how can I cache the result of a slow view and refresh it later?",
        [
            "rules-materializedviews.html",
            "sql-creatematerializedview.html",
            "sql-refreshmaterializedview.html",
        ],
    ),
    ("benchmark the server with a built-in load testing tool", ["pgbench.html"]),
    ("how do I make a sequence of numbers or dates without a table?", ["functions-srf.html"]),
    # Exact identifiers and error codes, as pasted from a log or a config file
    ("what does error 42P01 mean?", ["errcodes-appendix.html"]),
    (
        # Each of these says what 23505 is: a unique-key violation (the appendix's table,
        # "unique-key failures, which have SQLSTATE code 23505", "Duplicate key error").
        "I get SQLSTATE 23505 when inserting",
        ["errcodes-appendix.html", "mvcc-serialization-failure-handling.html", "ecpg-errors.html"],
    ),
    (
        "error 53300 too_many_connections",
        ["errcodes-appendix.html", "runtime-config-connection.html"],
    ),
    (
        "could not serialize access due to concurrent update",
        ["transaction-iso.html", "mvcc-serialization-failure-handling.html"],
    ),
    ("what does shared_buffers do and what should I set it to?", ["runtime-config-resource.html"]),
    ("default value of max_wal_size", ["runtime-config-wal.html", "wal-configuration.html"]),
    ("statement_timeout", ["runtime-config-client.html"]),
    ("gen_random_uuid", ["functions-uuid.html"]),
    ("pg_terminate_backend vs pg_cancel_backend", ["functions-admin.html"]),
    (
        "autovacuum_vacuum_scale_factor",
        ["runtime-config-autovacuum.html", "routine-vacuuming.html"],
    ),
    ("log_min_duration_statement", ["runtime-config-logging.html"]),
    ("array_agg", ["functions-aggregate.html"]),
]

# Near misses: PostgreSQL 15 has no such feature, asked the way its users ask. Retrieval
# should find nothing good enough to answer from (the assistant says it does not know).
NEAR_MISSES: list[str] = [
    "how do I turn on the built-in query result cache?",
    "can PostgreSQL run my queries on the GPU?",
    "how do I enable transparent data encryption for the whole cluster?",
    "is there a built-in cron scheduler to run a job every night?",
    "how do I open the graphical admin console that comes with PostgreSQL?",
    "how do I shard a table automatically across several servers?",
    "how do I create a columnar table for analytics?",
    "how do I store embeddings and run a vector similarity search?",
    "how do I convert Oracle PL/SQL packages automatically?",
    "how do I make a table use the MEMORY storage engine like in MySQL?",
    "how do I send a Slack alert when a query is slow?",
    "how do I turn on automatic index recommendations?",
    "can PostgreSQL back itself up to Amazon S3 automatically?",
    "how do I limit the CPU a single user's queries can use?",
    "how do I enable the built-in connection pooler?",
    "how do I create a system-versioned temporal table?",
    "does PostgreSQL have a built-in REST API for my tables?",
    "how do I add an optimizer hint to force a specific index?",
    "how do I compress a single table with zstd at the table level?",
    "how do I create a global index across all partitions?",
]
