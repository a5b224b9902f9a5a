"""DFF Studio dashboard: a Streamlit app over the dff_core engine (run ``streamlit run dashboard/app.py``)."""
