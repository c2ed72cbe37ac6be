"""A deterministic synthetic world: profile index, Greenhouse accounts and the ground truth.

Entry points: ``connect_pipeline.world.generate.generate_world`` and
``python -m connect_pipeline.world``; the on-disk layout is in ``layout``.
"""
