"""A deterministic synthetic world: profile index, Greenhouse accounts and the ground truth.

Entry points: ``connect_pipeline.testkit.world.generate.generate_world`` and
``python -m connect_pipeline.testkit.world``; the on-disk layout is in ``layout``.
"""
