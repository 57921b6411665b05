"""Labels in the signed-in user's language (English or Chinese).

flask-admin builds its menu, column names and forms once, when the app is created, but
each user reads them in their own language. :class:`Text` bridges the two: it *is* the
English string (so flask-admin can use it as a key, sort it, lower-case it) and renders
itself in the current user's language wherever a template prints it (``__html__``,
``__str__``).
"""

from __future__ import annotations

from collections.abc import Mapping

import flask_login
from flask import g, has_request_context
from markupsafe import Markup, escape

from engine.metadata import Label

LANGUAGES = ("en", "zh")


def current_language() -> str:
    """The request's language when one was set (:func:`set_request_language`: the API's
    ``lang``), else the signed-in user's; English outside a request or before login."""
    if not has_request_context():
        return "en"
    chosen = g.get("crm_language")
    if chosen in LANGUAGES:
        return str(chosen)
    user = flask_login.current_user
    language = getattr(user, "language", "en") if user is not None else "en"
    return language if language in LANGUAGES else "en"


def set_request_language(language: str) -> None:
    """Say this request's labels and refusals in ``language`` (``en`` or ``zh``)."""
    g.crm_language = language


class Text(str):
    """A label that prints in the current user's language (and is its English text otherwise)."""

    zh: str | None

    def __new__(cls, en: str, zh: str | None = None) -> Text:
        made = super().__new__(cls, en)
        made.zh = zh
        return made

    @classmethod
    def of(cls, label: Label) -> Text:
        return cls(label.en, label.zh)

    def get(self, language: str) -> str:
        if language == "zh" and self.zh:
            return self.zh
        return str.__str__(self)

    def __str__(self) -> str:
        return self.get(current_language())

    def __html__(self) -> Markup:
        return escape(self.get(current_language()))


#: The words of the UI itself (definitions bring the labels of entities, fields and choices).
_WORDS: Mapping[str, tuple[str, str]] = {
    "app_name": ("CRM Engine", "CRM 引擎"),
    "dashboard": ("Dashboard", "仪表盘"),
    "pipelines": ("Pipelines", "流程"),
    "records": ("Records", "记录"),
    "administration": ("Administration", "系统管理"),
    "definitions": ("Definitions", "定义"),
    "presets": ("Presets", "预置方案"),
    "webhooks": ("Webhooks", "Webhook 推送"),
    "webhooks_help": (
        "Subscriptions of other systems to the engine's events: each delivery is signed, retried for about a day, "
        "then kept as failed until replayed. Create them with crm webhook create or POST /api/v1/webhooks.",
        "其他系统对引擎事件的订阅:每次推送均带签名,失败后约一天内自动重试,之后保留为失败记录,可重新推送。"
        "请用 crm webhook create 或 POST /api/v1/webhooks 创建。",
    ),
    "no_webhooks": (
        "No webhook subscriptions yet (crm webhook create NAME --url URL --secret-stdin).",
        "暂无 Webhook 订阅(crm webhook create NAME --url URL --secret-stdin)。",
    ),
    "every_entity": ("every entity", "全部实体"),
    "replay_failed": ("Replay failed deliveries", "重新推送失败项"),
    "failed_deliveries": ("Failed deliveries", "失败的推送"),
    "recent_deliveries": ("Recent deliveries", "最近的推送"),
    "event": ("Event", "事件"),
    "next_attempt": ("Next attempt", "下次尝试"),
    "last_error": ("Last error", "最近错误"),
    "webhook_replayed": ("{name}: {count} delivery(ies) queued again.", "{name}:已重新排队 {count} 条推送。"),
    "users": ("Users", "用户"),
    "users_help": (
        "Deactivating a user ends their sign-ins, sessions and API tokens at once and hands every record they own "
        "to the user chosen, as one hand-over (crm user deactivate NAME --transfer-to OTHER).",
        "停用用户会立即终止其登录、会话和 API 令牌,并把其名下全部记录移交给所选用户,记为一次交接"
        "(crm user deactivate NAME --transfer-to OTHER)。",
    ),
    "roles": ("Roles", "角色"),
    "team": ("Team", "团队"),
    "active": ("Active", "启用"),
    "inactive": ("Inactive", "已停用"),
    "transfer_to": ("Hand records to", "记录移交给"),
    "deactivate": ("Deactivate", "停用"),
    "reactivate": ("Reactivate", "重新启用"),
    "handovers": ("Hand-overs", "交接记录"),
    "from_user": ("From", "移交人"),
    "to_user": ("To", "接收人"),
    "user_deactivated": (
        "{name} deactivated; {count} record(s) handed to {to}.",
        "已停用 {name};{count} 条记录已移交给 {to}。",
    ),
    "user_still_assigned": (
        "Still assigned to {name} (not moved, reassign them): {left}.",
        "仍指派给 {name} 的记录(未移交,请重新指派):{left}。",
    ),
    "user_reactivated": ("{name} can sign in again.", "{name} 已重新启用。"),
    "claim": ("Claim", "领取"),
    "claimed": ("Claimed: you own it now.", "已领取,现由您负责。"),
    "sign_in": ("Sign in", "登录"),
    "sign_out": ("Sign out", "退出"),
    "user_name": ("User name", "用户名"),
    "password": ("Password", "密码"),
    "bad_login": ("Wrong user name or password.", "用户名或密码错误。"),
    "hidden_factors": (
        "This score also depends on {count} factor(s) from fields you may not see.",
        "此评分还取决于 {count} 项来自您无权查看字段的因素。",
    ),
    "too_many_sign_ins": (
        "Too many failed sign-ins for this account or from this address; try again in {minutes} minute(s).",
        "此账户或此地址登录失败次数过多,请 {minutes} 分钟后再试。",
    ),
    "please_sign_in": ("Please sign in to continue.", "请先登录。"),
    "language": ("Language", "语言"),
    "main_menu": ("Main menu", "主菜单"),
    "language_saved": ("Language saved.", "语言已保存。"),
    "fields": ("Fields", "字段"),
    "transitions": ("Transitions", "流程操作"),
    "no_audit": ("No change recorded yet.", "暂无修改记录。"),
    "no_transitions_from_here": (
        "Nothing can be done from this stage: the record's workflow ends here, or you may not move it on.",
        "此阶段无可执行的流转:流程已结束,或您无权推进。",
    ),
    "run": ("Run", "执行"),
    "comment": ("Comment", "备注"),
    "history": ("Workflow history", "流程历史"),
    "no_history": ("No state changes yet.", "暂无状态变更。"),
    "scores": ("Scores", "评分"),
    "no_scores": ("No scoring is defined for this entity.", "此实体没有评分定义。"),
    "not_scored": ("Not scored yet", "尚未评分"),
    "explanation": ("Why this score", "评分依据"),
    "override": ("Override", "人工调整"),
    "override_value": ("Value", "分值"),
    "override_grade": ("Grade", "等级"),
    "reason": ("Reason", "原因"),
    "clear_override": ("Clear override", "取消人工调整"),
    "overridden_by": ("Overridden by", "调整人"),
    "computed": ("Computed", "计算值"),
    "audit": ("Audit trail", "修改记录"),
    "related": ("Related records", "相关记录"),
    "show_all": ("Show all", "查看全部"),
    "org_chart": ("Org chart", "组织结构图"),
    "org_chart_cut": ("Only the first {count} are drawn.", "只画出前 {count} 个。"),
    "edit": ("Edit", "编辑"),
    "back_to_list": ("Back to the list", "返回列表"),
    "back_to_dashboard": ("Back to the dashboard", "返回仪表盘"),
    "pick_record": ("Search or choose…", "搜索或选择…"),
    "board": ("Board", "看板"),
    "my_day": ("My day", "我的一天"),
    "timeline": ("Timeline", "时间线"),
    "timeline_all": ("Everything", "全部"),
    "timeline_older": ("Older", "更早"),
    "timeline_empty": ("Nothing has happened yet.", "暂无动态。"),
    "add_note": ("Add a note", "添加备注"),
    "note_added": ("Note added.", "备注已添加。"),
    "note_placeholder": ("What happened, what was agreed…", "发生了什么、约定了什么……"),
    "tl_created": ("created the record", "创建了记录"),
    "tl_changed": ("changed", "修改了"),
    "tl_moved": ("moved it", "推进了流程"),
    "tl_scored": ("score", "评分"),
    "tl_overridden": ("overrode the score", "人工调整了评分"),
    "tl_linked": ("linked", "关联了"),
    "tl_noted": ("noted", "备注"),
    "tl_ran": ("ran", "执行了"),
    "tl_told": ("told you", "通知您"),
    "my_day_of": ("My day: {day}", "我的一天:{day}"),
    "day_overdue": ("Overdue", "已逾期"),
    "day_due_today": ("Due today", "今日到期"),
    "day_stalled": ("To move on: no next step, or past the stage's time limit", "待推进:未填下一步或已超时"),
    "day_handed_over": ("Handed to me since yesterday", "昨天以来分配给我的"),
    "day_nothing": ("Nothing here.", "暂无。"),
    "due_on": ("due {day}", "{day} 到期"),
    "no_next_step": ("no next step", "未填写下一步"),
    "mark_done": ("Done", "完成"),
    "to_tomorrow": ("Tomorrow", "改到明天"),
    "to_next_week": ("Next week", "改到下周"),
    "item_done": ("“{title}” is done.", "「{title}」已完成。"),
    "item_rescheduled": ("“{title}” is moved on.", "「{title}」已改期。"),
    "workflow": ("Workflow", "流程"),
    "views": ("Views", "视图"),
    "view_none": ("All records", "全部记录"),
    "view_apply": ("Apply", "应用"),
    "view_shared": ("Shared", "共享"),
    "view_group_shared": ("Shared views", "共享视图"),
    "view_group_mine": ("My views", "我的视图"),
    "view_name": ("Name of the view", "视图名称"),
    "view_save": ("Save view", "保存视图"),
    "view_delete": ("Delete view", "删除视图"),
    "view_delete_confirm": ("Delete this view?", "删除此视图?"),
    "view_saved": ("View “{name}” saved.", "视图「{name}」已保存。"),
    "view_deleted": ("View deleted.", "视图已删除。"),
    "view_not_saved": ("The view was not saved: {reason}", "视图未保存:{reason}"),
    "board_of": ("{workflow}: board", "{workflow}看板"),
    "board_no_such_move": ("That move is not possible here.", "此处不能这样移动。"),
    "board_no_move_between": (
        "No transition leads from “{from_state}” to “{to_state}”.",
        "没有从「{from_state}」到「{to_state}」的流转。",
    ),
    "board_move_to": ("Move to…", "移动到…"),
    "board_filter": ("Filter", "筛选"),
    "board_owner": ("Owner", "负责人"),
    "board_everyone": ("Everyone I may see", "我可查看的全部"),
    "board_mine": ("Mine", "我的"),
    "board_search": ("Search the cards", "搜索卡片"),
    "board_days": ("{days} d in stage", "本阶段 {days} 天"),
    "board_overdue": ("Over its time limit", "已超时"),
    "board_bad_date": ("“{value}” is not a date (YYYY-MM-DD); left out.", "“{value}”不是日期(YYYY-MM-DD),已忽略。"),
    "board_team": ("Team", "团队"),
    "board_every_team": ("Every team", "全部团队"),
    "board_created_from": ("Created from", "创建日期自"),
    "board_created_to": ("Created up to", "创建日期至"),
    "board_not_loaded": ("More cards could not be loaded; try again.", "未能加载更多卡片,请重试。"),
    "board_more": ("Show more ({count} left)", "显示更多(还有 {count} 条)"),
    "board_final": ("Closed", "已结束"),
    "board_empty": ("No records", "暂无记录"),
    "board_run": ("Run", "执行"),
    "board_cancel": ("Cancel", "取消"),
    "board_moved": ("Moved to “{state}”.", "已移动到「{state}」。"),
    "comment_optional": ("Comment (optional, kept with the transition)", "备注(可选,随流转记录保存)"),
    "error_400": ("This request cannot be answered", "请求有误"),
    "error_401": ("Please sign in", "请先登录"),
    "error_403": ("You may not open this page", "无权访问此页面"),
    "error_404": ("This page does not exist", "找不到此页面"),
    "error_409": ("This change conflicts with another", "此修改与其他修改冲突"),
    "error_other": ("Something went wrong", "出错了"),
    "error_500": ("Something went wrong on our side", "服务器出错了"),
    "error_code": ("Error code", "错误代码"),
    "error_403_explained": (
        "Your roles do not open this page. Ask an administrator if your work needs it.",
        "您的角色无权打开此页面。如工作需要,请联系管理员。",
    ),
    "error_404_explained": (
        "The address may be mistyped, or what it showed was deleted or merged into another record.",
        "地址可能有误,或其内容已被删除、或已合并到另一条记录。",
    ),
    "when": ("When", "时间"),
    "who": ("Who", "操作人"),
    "from_state": ("From", "原状态"),
    "to_state": ("To", "新状态"),
    "transition": ("Transition", "操作"),
    "field": ("Field", "字段"),
    "old_value": ("Old value", "原值"),
    "new_value": ("New value", "新值"),
    "action": ("Action", "动作"),
    "state": ("State", "状态"),
    "unavailable": ("Not available now", "当前不可执行"),
    "transition_done": ("Done: {name}.", "已执行:{name}。"),
    "override_saved": ("Override saved.", "人工调整已保存。"),
    "override_cleared": ("Override cleared.", "人工调整已取消。"),
    "live_bundle": ("Live definitions", "当前定义"),
    "version": ("Version", "版本"),
    "upload_bundle": ("Upload a bundle", "上传定义包"),
    "upload_help": (
        "A zip of a bundle directory, or one definition document (.json) that replaces or adds a document "
        "of the live bundle.",
        "定义包目录的 zip 文件,或单个定义文档(.json),用于替换或新增当前定义中的文档。",
    ),
    "edit_document": ("Edit a document", "编辑文档"),
    "document": ("Document", "文档"),
    "validate_and_diff": ("Validate and show changes", "校验并查看变更"),
    "valid": ("The definitions are valid.", "定义校验通过。"),
    "invalid": ("The definitions have errors; nothing was changed.", "定义有错误,未做任何更改。"),
    "file": ("File", "文件"),
    "pointer": ("JSON pointer", "JSON 指针"),
    "code": ("Code", "代码"),
    "message": ("Message", "说明"),
    "changes": ("Changes", "变更"),
    "no_changes": ("No changes: the database already matches.", "无变更:数据库已与定义一致。"),
    "rows": ("Rows", "行数"),
    "show_rows": ("Show the {count} rows as a table", "以表格查看全部 {count} 行"),
    "data_loss": ("Loses data", "会丢失数据"),
    "allow_data_loss": ("Allow steps that lose data", "允许会丢失数据的变更"),
    "apply": ("Apply", "应用"),
    "applied": ("Applied: definitions version {version}.", "已应用:定义版本 {version}。"),
    "load_preset": ("Load a preset", "加载预置方案"),
    "mode": ("Business mode", "业务模式"),
    "industry": ("Industry", "行业"),
    "none": ("None", "无"),
    "demo_records": ("Demo records", "演示数据条数"),
    "load": ("Load", "加载"),
    "load_in_background": ("Load in the background", "后台加载"),
    "preset_loaded": (
        "Loaded {name}: definitions version {version}, {changes} change(s), {demo} demo record(s).",
        "已加载 {name}:定义版本 {version},{changes} 项变更,{demo} 条演示数据。",
    ),
    "installed": ("Loaded presets", "已加载的预置方案"),
    "automations": ("Automations", "自动化"),
    "automation": ("Automation", "自动化"),
    "system": ("System", "系统"),
    "trigger": ("Trigger", "触发"),
    "run_mode": ("Mode", "方式"),
    "runs": ("Runs", "运行记录"),
    "latest_runs": ("Latest runs", "最近的运行"),
    "failed_runs": ("Failed runs", "失败的运行"),
    "all_runs": ("All runs", "全部运行"),
    "status": ("Status", "状态"),
    "record": ("Record", "记录"),
    "attempts": ("Attempts", "尝试次数"),
    "started": ("Created", "创建时间"),
    "run_error": ("Error", "错误"),
    "retry": ("Retry", "重试"),
    "no_runs": ("No runs yet.", "暂无运行记录。"),
    "no_automations": ("The definitions have no automations.", "当前定义中没有自动化。"),
    "run_retried": ("Run {id} ran again: {status}.", "运行 {id} 已重试:{status}。"),
    "enabled": ("Enabled", "启用"),
    "disabled": ("Disabled", "已停用"),
    "funnel": ("Pipeline funnel", "流程漏斗"),
    # the dashboard's tiles, period picker, funnel and trend
    "period": ("Period", "期间"),
    "period_this_month": ("This month", "本月"),
    "period_last_month": ("Last month", "上月"),
    "period_this_quarter": ("This quarter", "本季度"),
    "period_last_quarter": ("Last quarter", "上季度"),
    "period_this_year": ("This year", "今年"),
    "period_custom": ("Custom dates", "自定义日期"),
    "period_from": ("From", "开始日期"),
    "period_to": ("To", "结束日期"),
    "show_period": ("Show", "查看"),
    "key_figures": ("Key figures", "关键指标"),
    "tile_open_pipeline": ("Open: {workflow}", "进行中:{workflow}"),
    "tile_records": ("Records: {count}", "记录数:{count}"),
    "tile_won": ("Won · {period}", "赢单 · {period}"),
    "tile_new": ("New: {entity}", "新增:{entity}"),
    "tile_overdue": ("Overdue: {entity}", "逾期:{entity}"),
    "tile_overdue_note": ("Not done, due before today", "未完成且已过截止日"),
    "tile_sla": ("Past their stage's time limit", "超出阶段时限"),
    "tile_against": ("{period}: {figure} ({change})", "{period}:{figure}({change})"),
    "funnel_of": ("Funnel: {workflow}", "漏斗:{workflow}"),
    "funnel_stage": ("Stage", "阶段"),
    "funnel_records": ("Records", "记录数"),
    "funnel_amount": ("Amount", "金额"),
    "funnel_to_next": ("To the next stage", "转入下一阶段"),
    "funnel_closed": ("Closed", "已结束"),
    "funnel_note": (
        "Open stages now. Conversion, from the workflow history: of the records that ever reached a stage, the "
        "share that reached the next one (from the last stage: won); a deal lost on the way counts against the "
        "stage it got to.",
        "当前各进行中阶段。转化率按流程历史计算:曾到达某阶段的记录中到达下一阶段的比例(最后一个阶段为赢单);"
        "中途输掉的记录计入它到达的阶段。",
    ),
    "trend_title": ("Won over the period: {workflow}", "赢单趋势:{workflow}"),
    "trend_caption": (
        "Won per {step} ({period}); a point opens its records.",
        "每{step}赢单({period});点击数据点查看对应记录。",
    ),
    "step_week": ("week", "周"),
    "step_month": ("month", "月"),
    "all_workflows": ("Every workflow", "全部流程"),
    "col_open": ("Open", "进行中"),
    "col_won": ("Won", "赢单"),
    "col_breaches": ("Past time limit", "超时"),
    "reports_loading": ("The reports are being counted…", "正在统计报表…"),
    "reports_page": ("Open them on a page of their own", "在单独页面中查看"),
    "score_distribution": ("Score distribution", "评分分布"),
    "reports": ("Reports", "报表"),
    "chart_caption": ("Bars: {measure}, per {groups}.", "图中数值:{measure},按{groups}。"),
    "chart_caption_total": ("Bars: {measure}.", "图中数值:{measure}。"),
    "pivot_caption": ("Cells: {measure}, per {groups}.", "表中数值:{measure},按{groups}。"),
    "grade_caption": ("Records per grade ({scored} scored).", "各等级的记录数(已评分 {scored} 条)。"),
    "value_caption": ("Records per score range ({scored} scored).", "各分数段的记录数(已评分 {scored} 条)。"),
    "not_scored_yet": (
        "No record has been scored yet: run the scoring (crm score run).",
        "尚无记录评分:请运行评分(crm score run)。",
    ),
    "none_value": ("(none)", "(无)"),
    "days": ("{n} days", "{n} 天"),
    "hours": ("{n} hours", "{n} 小时"),
    "no_reports": ("The live definitions have no reports.", "当前定义中没有报表。"),
    "no_definitions": (
        "No definitions are applied yet: load a preset or upload a bundle.",
        "尚未应用任何定义:请加载预置方案或上传定义包。",
    ),
    "records_count": ("records", "条记录"),
    "reports_withheld": (
        "{count} report(s) use fields your roles do not let you read, and are not shown.",
        "{count} 个报表涉及您的角色无权查看的字段,未予显示。",
    ),
    "reports_scoped": (
        "These reports count the records your roles let you read (your own, or your team's).",
        "以下报表仅统计您的角色有权查看的记录(本人或本团队)。",
    ),
    "may_not_create": ("Your roles may not create {entity} records.", "您的角色无权新建{entity}记录。"),
    "may_not_change": (
        "Your roles let you read this record but not change it.",
        "您的角色可以查看此记录,但无权修改。",
    ),
    "record_missing": ("There is no such record.", "没有这条记录。"),
    "report_failed": ("This report could not be computed: {message}", "此报表无法计算:{message}"),
    "forbidden": ("You may not do this: {message}", "无权执行此操作:{message}"),
    "not_found": ("Not found: {message}", "未找到:{message}"),
    "error": ("Refused: {message}", "操作被拒绝:{message}"),
    "fix_fields": ("Please correct the highlighted fields.", "请修改标出的字段。"),
    "choose": ("Choose…", "请选择…"),
    "yes": ("Yes", "是"),
    "no": ("No", "否"),
    "owner": ("Owner", "负责人"),
    "created_at": ("Created", "创建时间"),
    "updated_at": ("Updated", "更新时间"),
    "created_by": ("Created by", "创建人"),
    "id": ("ID", "编号"),
    "admins_only": ("Only administrators may change definitions.", "只有管理员可以修改定义。"),
    "notifications": ("Notifications", "通知"),
    "unread_count": ("{count} unread", "{count} 条未读"),
    "mark_read": ("Mark read", "标为已读"),
    "mark_all_read": ("Mark all read", "全部标为已读"),
    "marked_read": ("Marked {count} notification(s) read.", "已将 {count} 条通知标为已读。"),
    "no_notifications": ("No notifications.", "没有通知。"),
    "show_unread": ("Unread only", "只看未读"),
    "read": ("Read", "已读"),
    "jobs": ("Jobs", "后台任务"),
    "job_kind": ("Kind", "类型"),
    "job_status": ("Status", "状态"),
    "job_progress": ("Progress", "进度"),
    "job_message": ("Step", "当前步骤"),
    "job_started": ("Started", "开始时间"),
    "job_finished": ("Finished", "结束时间"),
    "job_error": ("Error", "错误"),
    "job_worker": ("Worker", "执行进程"),
    "no_jobs": ("No jobs yet.", "尚无后台任务。"),
    "job_queued": (
        "Job {id} queued: it runs in the background; this page shows how far it got.",
        "任务 {id} 已排队,将在后台运行;本页显示其进度。",
    ),
    "run_scoring_job": ("Score every record (in the background)", "为所有记录评分(后台运行)"),
    "periodic_work": ("Periodic work", "定时任务"),
    "periodic_slot": ("Interval", "时段"),
    "periodic_name": ("Work", "工作"),
    "queue_at": ("Queue: {queue}", "队列:{queue}"),
    "status_queued": ("queued", "排队中"),
    "status_running": ("running", "运行中"),
    "status_done": ("done", "已完成"),
    "status_failed": ("failed", "失败"),
    "kind_score_run": ("score run", "评分"),
    "kind_import": ("import", "导入"),
    "kind_preset_load": ("preset load", "加载预置方案"),
    "imports": ("Imports", "数据导入"),
    "import_file": ("Import a CSV file", "导入 CSV 文件"),
    "import_entity": ("Entity", "实体"),
    "import_csv_file": ("File", "文件"),
    "import_header_help": (
        "The first line names the fields (or reference.key, such as account.code); a column mapping renames "
        "other headers.",
        "首行为字段名(引用可写作 引用.键,如 account.code);其他表头可用列映射改名。",
    ),
    "import_encoding": ("Encoding", "编码"),
    "import_delimiter": ("Delimiter", "分隔符"),
    "import_key": ("Update records by (unique field)", "按唯一字段更新已有记录"),
    "import_on_error": ("Bad lines", "错误行"),
    "import_abort": ("import nothing", "全部不导入"),
    "import_skip": ("skip them", "跳过错误行"),
    "import_mapping": ("Column mapping (JSON: column → field)", "列映射(JSON:列名 → 字段)"),
    "import_check": ("Check only (dry run)", "仅检查(试运行)"),
    "import_run": ("Import", "导入"),
    "import_allow_duplicate": (
        "Import lines a duplicate rule would refuse (the audit records it)",
        "导入查重规则会拒绝的行(审计留痕)",
    ),
    "import_duplicates": ("Lines imported although a duplicate rule matched", "命中查重规则但仍导入的行"),
    "import_duplicates_dry_run": (
        "Lines that would be imported although a duplicate rule matched",
        "命中查重规则但仍会导入的行",
    ),
    "import_duplicate_of": ("Likely a duplicate of", "疑似重复于"),
    "import_duplicate_overridden": ("imported anyway", "已强制导入"),
    "import_duplicate_warned": ("warning", "提醒"),
    "import_report": ("Import", "导入"),
    "import_dry_run_report": ("Dry run: nothing was written", "试运行:未写入任何数据"),
    "import_inserted": ("Inserted", "新增"),
    "import_updated": ("Updated", "更新"),
    "import_unchanged": ("Unchanged", "未变"),
    "import_rejected": ("Rejected", "拒绝"),
    "import_line": ("Line", "行"),
    "import_field": ("Field", "字段"),
    "import_code": ("Code", "代码"),
    "import_problem": ("Problem", "问题"),
    "import_history": ("Imports", "导入记录"),
    "import_status_imported": ("imported", "已导入"),
    "import_status_reverted": ("reverted", "已撤销"),
    "import_revert": ("Revert", "撤销"),
    "import_revert_confirm": (
        "Delete the records this import created and restore those it updated?",
        "删除此次导入新增的记录并恢复其更新的记录?",
    ),
    "import_reverted": (
        "Import {id} reverted: {deleted} record(s) deleted, {restored} restored.",
        "导入 {id} 已撤销:删除 {deleted} 条记录,恢复 {restored} 条。",
    ),
    "no_imports": ("No imports yet.", "尚无导入记录。"),
    "kind_duplicates_scan": ("duplicate scan", "查重"),
    "duplicates": ("Duplicates", "查重"),
    "duplicate_blocked": (
        "Likely a duplicate of a record that exists; open it below, or save anyway.",
        "疑似与已有记录重复;请查看下列记录,或确认仍然保存。",
    ),
    "duplicate_warning": ("Saved; likely duplicates: {records}", "已保存;疑似重复:{records}"),
    "save_anyway": ("Save anyway", "仍然保存"),
    "duplicate_rule": ("Rule", "规则"),
    "similarity": ("Similarity", "相似度"),
    "scan": ("Scan", "扫描"),
    "no_duplicates": ("No likely duplicates.", "未发现疑似重复。"),
    "no_duplicate_rules": ("No entity has duplicate rules.", "没有实体定义查重规则。"),
    "duplicate_groups": ("{count} group(s) of likely duplicates", "{count} 组疑似重复"),
    "csrf_failed": (
        "The form expired or did not come from this site; please try again.",
        "表单已过期或来源无效,请重试。",
    ),
    # -- bulk and inline edit (engine/web/admin/_bulk_pages.py) --
    "bulk_edit": ("Bulk edit", "批量编辑"),
    "bulk_title": ("Bulk edit: {count} {entity} record(s)", "批量编辑:{count} 条{entity}记录"),
    "bulk_help": (
        "Tick the fields to set and give their values; each record is changed on its own, as if you "
        "edited it: a record that cannot take the change is left as it is and says why, the others are "
        "changed. A new state is reached through the workflow's transition, with its rules. Preview first.",
        "勾选要修改的字段并填写新值。每条记录单独修改,如同逐条编辑:不能修改的记录保持原样并说明原因,"
        "其余记录照常修改。新的状态经流程的转换到达,遵循其规则。请先预览。",
    ),
    "bulk_set": ("Set", "修改"),
    "bulk_field": ("Field", "字段"),
    "bulk_value": ("New value", "新值"),
    "bulk_state_note": ("moves by its transition", "经流程转换"),
    "bulk_inputs": ("Transition inputs (when the transition asks for them)", "转换所需信息(如需要)"),
    "bulk_comment": ("Comment on the transition", "转换备注"),
    "bulk_preview": ("Preview", "预览"),
    "bulk_apply": ("Apply", "应用"),
    "bulk_back": ("Back to the list", "返回列表"),
    "bulk_record": ("Record", "记录"),
    "bulk_outcome": ("Outcome", "结果"),
    "bulk_would_change": ("Would change", "将修改"),
    "bulk_changed": ("Changed", "已修改"),
    "bulk_unchanged": ("No change", "无变化"),
    "bulk_refused": ("Refused", "被拒绝"),
    "bulk_preview_summary": (
        "Preview: {ok} record(s) would change, {refused} refused. Nothing is saved yet.",
        "预览:{ok} 条记录将被修改,{refused} 条被拒绝。尚未保存任何修改。",
    ),
    "bulk_done_summary": ("{ok} record(s) changed, {refused} refused.", "已修改 {ok} 条记录,{refused} 条被拒绝。"),
    "bulk_nothing_chosen": ("Tick at least one field to set.", "请至少勾选一个要修改的字段。"),
    "bulk_no_records": (
        "No records chosen: tick rows of the list, then Bulk edit.",
        "未选择记录:请在列表中勾选记录,再选择“批量编辑”。",
    ),
    "bulk_not_editable": ("This cell cannot be edited here.", "此单元格不能在此编辑。"),
    "inline_edit": ("Edit {field}", "编辑{field}"),
    "inline_save": ("Save", "保存"),
    "inline_cancel": ("Cancel", "取消"),
}


def word(key: str) -> Text:
    """A word of the UI as :class:`Text`."""
    en, zh = _WORDS[key]
    return Text(en, zh)


def say(key: str, **values: object) -> str:
    """A UI sentence in the current language, with ``{name}`` placeholders filled."""
    en, zh = _WORDS[key]
    template = zh if current_language() == "zh" else en
    return template.format(**values)
