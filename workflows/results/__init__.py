"""Results: barrier documents in the database, ingestion of finished workflows, export, reference
data sets.
"""
