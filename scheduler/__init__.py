"""The one scheduler of a deployment (`kpidash scheduler`): refresh from the live source, the nightly
KPI history and the weekly team packs. It composes the layers (etl, kpis) as the CLI does."""
