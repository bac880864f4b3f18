"""Bridges to other libraries' registries (segmentation-models-pytorch).

Nothing here is imported by ``import hrvision``: importing smp costs seconds, so each bridge
registers when it is imported itself (``import hrvision.integrations.smp``).
"""
