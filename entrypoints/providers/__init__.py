"""dishka providers: one module per bounded context, plus storage and shared services."""
