"""Do attribution maps explain the model? Model-parameter randomization (Adebayo et al. 2018,
"Sanity Checks for Saliency Maps"), map similarity, and deletion/insertion faithfulness
(Petsiuk et al. 2018, RISE). ``nnvisual sanity``; docs/sanity-checks.md."""
