"""Generated (local part, domain) lists for the address tests: odd characters, IDN and
punycode labels, special-use names, so the fast keying paths meet what parse_address meets."""

from __future__ import annotations

from hypothesis import strategies as st

address_parts = st.lists(
    st.tuples(
        st.text(alphabet="aZ09._%+-!#'\" <>", max_size=12),
        st.lists(
            st.text(alphabet="aZ09-_é", max_size=8)
            | st.sampled_from(["xn--bcher-kva", "xn--zz", "local", "onion", "test"]),
            min_size=1,
            max_size=4,
        ).map(".".join),
    ),
    min_size=1,
    max_size=5,
)
