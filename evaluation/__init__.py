"""Oxford/Paris (and revisited) retrieval evaluation: AP tools, dataset loaders, query/database expansion."""
