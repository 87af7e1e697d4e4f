"""OpenTelemetry spans for what portside calls out to: SQL statements, Redis commands, Bot
API calls and jobs, plus the trace context a job inherits from the request that recorded
its event. Imported only when tracing is on (the ``otel`` extra, ``PORTSIDE_OTEL_ENDPOINT``);
``entrypoints.tracing`` wires it.

No span carries a statement parameter, a Redis key or value, a message text, a bot token
or an exception's message: only names, types and outcomes.
"""
