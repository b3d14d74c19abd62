"""The weekly mechanisms of DESIGN §5, one module each, in step order.

=====  ==============================  ===============================================
§5     module                          what it does
=====  ==============================  ===============================================
5.1    :mod:`.social_change`           stable units dissolve into platform work
5.2    :mod:`.assessment`              demand down the hierarchy; where the hours go
5.3    :mod:`.sensing`                 reports up the hierarchy; support down
5.4    :mod:`.service`                 members serve people with needs; image
5.5    :mod:`.enculturation`           identification spreads (Friedkin-Johnsen)
5.6    :mod:`.commitment`              members' commitment and load
5.7    :mod:`.fusion`                  party-business integration; code learning
5.8    :mod:`.recruitment`             applicants, activists, probation, admission
5.9    :mod:`.membership`              ageing, deaths, retirement, lapse
5.10   :mod:`.social_orgs`             partnered social organisations relay service
5.11   :mod:`.mobilization`            a call starts a threshold cascade
=====  ==============================  ===============================================

Each module has pure kernels (arrays and keyword scalars in, arrays out) and a ``step`` that
reads and writes :class:`sim.state.State` only and returns :class:`sim.state.Events`; the
model (:mod:`sim.model`) runs them in order and applies their events. Sparse operators derived
from the state (:mod:`sim.operators`) are passed in read-only.
"""
