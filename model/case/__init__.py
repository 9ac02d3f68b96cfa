"""The case: schema, cells, reading, validation rules and feasibility, the typed Case, template and case writer."""
