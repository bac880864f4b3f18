# A model whose export differs from eager at other sizes (tests/test_export.py: the refusal path).
custom_imports = dict(imports=['tests.export_branch_model'], allow_failed_imports=False)
model = dict(type='WidthBranchNet')
