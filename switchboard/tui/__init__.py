"""The terminal UI: `switchboard tui` (Textual is imported only here).

One module per screen and per widget, all in this package:

* ``app``: the thin :class:`~switchboard.tui.app.SwitchboardApp`: runs tasks and store
  reads in workers, handles the messages the screens post; ``approvals`` and
  ``handoffs`` drive the approve and hand-off actions for it;
* ``model``, ``render``, ``overview``, ``actions``: what is shown, without Textual
  (the task board, event lines, budgets and providers, the task actions);
* screens: ``board_screen`` (task list and task view), ``dispatch_screen`` (the form and
  its route preview), ``overview_screen`` (budgets and providers), ``diff_screen``,
  and the modals ``approval_screen`` (approve or reject a held task) and
  ``handoff_screen`` (pick a provider, preview what it would be sent);
* widgets: ``task_table``, ``task_view``, ``route_preview``, ``budget_gauge``,
  ``budget_strip``, ``provider_table``; ``commands`` (the command palette) and
  ``messages``.
"""
