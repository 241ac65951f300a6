"""Builds ``training_v5.jsonl``, the labelled bilingual training set shipped with the classifier.

Run ``uv run python -m classifier.data.build_training`` (from ``services/classifier``) to regenerate
(deterministic, seed 20261125).

Version 5: v4's rows as v4 generated them (same texts, order and split, so the held-out split is still
exactly v3's 2,421 examples), followed by
932 TRAIN-ONLY wordings (``wordings_v5_train.json``, group ids ``issue:lang:vK``, their own random stream
``SEED + 5``; 604 first, then 328 for the priority line) for the weaknesses found in real customer wording:

* funds safety is P1 for the wallet, card, top-up, transfer, withdrawal and refund side of the platform:
  five new issues (``fs-unrecognised`` charges/payments/debits the customer did not make or does not
  recognise, also asked as a question; ``fs-card-lost`` card, wallet or phone with the banking app lost or
  stolen, card kept by an ATM; ``fs-transfer-missing`` money that left for a transfer/top-up/withdrawal and
  never arrived; ``fs-refund-sent-missing`` a refund the company says it sent that has not arrived;
  ``fs-balance`` vanished/decreased balance, frozen funds), plus more wordings of ``as-hacked`` (password
  changed by someone else, unknown-device alerts) and ``as-funds`` (double charges);
* pre-sales questions about fees, rates, limits, supported countries and eligibility are pre_sales P3
  however many money words they hold, hypothetical "if I transfer / if my card were lost" included: five
  new issues (``ps-fees``, ``ps-rates``, ``ps-limits``, ``ps-countries``, ``ps-eligibility``) plus
  ``ps-ship-pre`` wordings about shipping destinations;
* an after-sales problem said angrily stays after_sales when the customer asks for a fix: upset wordings
  for ten after-sales issues (faults, app bugs, blocked accounts, deliveries, orders, exchanges, repairs,
  how-to), and a few P3 money wordings (refund status within the normal time, linking a card, downloading
  a statement) for ``as-refund-howto``, ``as-account`` and ``as-invoice``;
* a grievance about money taken or lost through the company's failure ("you let someone drain my account
  and nobody cares") is a complaint AND P1: a new issue ``cp-funds`` (complaint / after_sales / P1);
* the P2 / P3 / P4 line in real wording (questions, indirect phrasing, typos, 口语, emoji, zh/en mixed, long
  and very short messages): 328 more wordings appended to 18 existing issues (no new issue) — P2 for a
  customer left without the product or app for days or needing it for work or school (``as-blocked``, which
  also takes long repairs, an app that crashes after reinstalling and data lost in a sync; ``as-hwfault``,
  ``as-nopower``), parcels stuck for a week, delivered but not received, lost, damaged or held by customs
  (``as-logi-urgent``), approved refunds well past the promised time (``as-refund-missing``), escalation
  hinted at indirectly (``cp-escalate``: consumer council, regulators, 黑猫投诉, posting the chat logs) and
  data misuse (``cp-privacy``), P4 for thanks, greetings and "already solved" (``ot-chat``) and wishes said
  indirectly (``rq-feature``, ``rq-improve``, ``rq-service``, ``rq-logistics``, ``rq-product-new``), and P3
  counter-examples (a bug with a way round it ``as-bug``, a repair or delivery within its normal time
  ``as-repair`` / ``as-logi-late``, an ordinary complaint ``cp-attitude`` / ``cp-quality``).

Seven v5 wordings that happened to be near copies of texts in the independent evaluation sets (short common
phrases such as "charged twice" or 卡丢了, written without seeing them) were removed before the build, so
that those sets stay unseen (``tests/test_model.py``).

The new issues have train-only wordings only (nothing of theirs is held out: the held-out split keeps
meaning "v3's held-out wordings"). The build fails on a v5 wording that is a near copy of a held-out one
(``_leak_check_train_only``) or repeats an earlier wording (``_duplicate_check``). ``training_v4.jsonl`` is
not kept: v5 starts with its rows.

Version 4: v3's rows byte for byte (so the held-out split is exactly v3's 2,421 examples) followed by
1,185 TRAIN-ONLY wordings (``wordings_v4_train.json``, group ids ``issue:lang:tK``) from four more writers,
briefed like v3's and asked for the hard cases — ownership, not having bought, or dissatisfaction shown by
the situation rather than by the category's obvious keyword — with their own random stream. Before adding,
duplicates of existing wordings and near copies of any held-out wording were removed (15 of 1,200); the
build fails on a train-only wording that is a near copy of a held-out one. Cross-validated on v3's train
wordings (extra wordings only ever in the fitting folds; scored on wordings none of the writers saw):
category +3.3 points, priority +3.9.

Version 3 (same format, guidelines and split rule; ``training_v2.jsonl`` and ``training_v1.jsonl`` stay in
the package as the "before" test sets; v3's own file is not kept, v4 starts with its rows): 1,183 more wordings, 12 per issue and language, written by four
other writers who were given only the labelling guidelines below, each issue's labels and four of its train
wordings as a style sample (never the held-out ones), and asked for new situations and registers rather
than paraphrases. They live in ``wordings_v3.json`` and are APPENDED to every issue's lists, so every v1/v2
wording keeps its index and every v1/v2 held-out wording is still held out; a quarter of the new wordings
(index % 4 == 3, as always) are held out too, so the test set also holds other writers' phrasings.
Before they were added, exact duplicates of existing wordings and new wordings that would have been near
copies of a wording on the other side of the split (17 of 1,200) were removed; ``_leak_check`` still
fails the build on any near copy.

Version 2 (same format and labelling guidelines as v1): about 1,300 more wordings written from the same seed scenarios, APPENDED to every
issue's v1 lists (``MORE_WORDINGS*``) plus two new complaint issues (about a refund or a repair: the topic
is after-sales, the intent is dissatisfaction — seed 000 投诉建议), so each v1 wording keeps its index and
every v1 held-out wording is still held out; a train wording that is a near copy of any held-out wording
(character-trigram Jaccard ≥ ``LEAK_THRESHOLD``) makes the build fail (``_leak_check``); and contexts or
subjects that say the customer already bought something are no longer put in front of pre-sales
questions or unrelated contacts (v1 generated "昨天刚收到，耳机贵不贵" labelled pre-sales).

Each *issue* below is one customer problem written by hand from the scenarios of the manuals (seed 000
服务需求智能分类, seed 001 分层处理, seed 002 问题解决跟踪表 / 物流延迟 / 退换货, seed 004 P1–P4 判定依据)
with its labels (category, module, priority) and many Chinese and English wordings (formal, colloquial
口语, terse chat style). Examples are those wordings placed in realistic openings, contexts and closings
(channel greetings, order references, urgency remarks) with light realistic noise (missing punctuation,
English typos, full-width letters, colloquial particles). Every example carries its wording id as
``group`` (issue:lang:index); the held-out split takes whole wordings — every fourth wording of every
issue and language (index % 4 == 3) — so evaluation measures phrasings the model never saw, not the same
sentence with another greeting. Tuning (thresholds, C) uses a validation split carved out of the train
wordings (see ``classifier.evaluate.validation_split``), never the held-out one.

Labelling guidelines (applied to every issue, so similar texts get the same labels):

* category — what the customer wants, not which words appear:
  - ``pre_sales`` 售前咨询: the customer has not bought yet (price, offers, specs, stock, how to buy,
    pre-purchase questions about warranty, invoices or delivery times; since v5 also questions about
    fees, exchange rates, interest, limits, supported countries or eligibility — pre_sales P3 even when
    full of money words or asked hypothetically, "if my card were lost…, I haven't opened an account");
  - ``after_sales`` 售后支持: help with something bought or an account in use (faults, how-to, refunds,
    returns, repairs, deliveries of an order, invoices of a purchase, charges, outages, security);
  - ``complaint`` 投诉建议: the customer expresses dissatisfaction with the company, its staff, partner
    couriers or the handling of a case, or threatens escalation (12315, media, lawyer) — this wins
    over the topic (a complaint about a refund is a complaint); an upset customer who asks for a FIX of
    a fault, bug, delivery or order ("third time it crashed, so annoying, fix it") stays ``after_sales``;
  - ``requirement`` 需求: a suggestion or a wish for a new feature / product / service option, no fault;
  - ``other`` 其他: no customer-service request about our products (partnership, media, jobs, chit-chat,
    wrong number, company address/hours).
* module — where the work is done: ``logistics`` shipping/delivery/couriers; ``technical`` app,
  software, accounts, system access, integrations, data; ``after_sales`` device faults, refunds, returns,
  repairs, invoices, charges; ``product`` product information, product quality, general matters.
* priority (seed 004):
  - P1 funds safety — money that left the customer or is owed to them and is missing (unauthorised,
    unrecognised or double charges, a transfer/top-up/withdrawal that never arrived, an approved or sent
    refund that has not arrived — P2 up to v4), vanished balance, frozen funds, a lost or stolen card /
    wallet / phone with the banking app — core outage (many users / nobody can log in), account takeover,
    physical safety risk (smoke, fire, shock); a question about fees, limits or rates before using, a
    refund still within its normal time, how to link a card or get a statement are not P1;
  - P2 the customer cannot use what they bought (dead device, blocked account/app, lost/damaged parcel,
    urgent delivery) or an escalation threat / billing or privacy complaint;
  - P3 a routine question or an ordinary complaint that needs an answer (incl. partnership, media,
    company information);
  - P4 a non-urgent suggestion, a wish, or a contact that needs no action (thanks, test, wrong number,
    job enquiries).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("training_v5.jsonl")
WORDINGS_V3 = Path(__file__).with_name("wordings_v3.json")
"""v3's wordings: issue id → {"zh": [...], "en": [...]}."""
WORDINGS_V4_TRAIN = Path(__file__).with_name("wordings_v4_train.json")
"""v4's train-only wordings, same shape."""
WORDINGS_V5_TRAIN = Path(__file__).with_name("wordings_v5_train.json")
"""v5: {"issues": {new issue id: {"category", "module", "priority", "description"}}, "wordings": {issue id:
{"zh": [...], "en": [...]}} (train-only), "relabel": {issue id: {"priority": ..., "why": ...}}}."""
CATEGORIES = ("pre_sales", "after_sales", "complaint", "requirement", "other")
MODULES = ("logistics", "technical", "after_sales", "product")
PRIORITIES = ("P1", "P2", "P3", "P4")
SEED = 20261125

# (issue id, category, module, priority, [zh wordings], [en wordings])
ISSUES: list[tuple[str, str, str, str, list[str], list[str]]] = [
    # ------------------------------------------------------------ pre-sales 售前咨询
    ("ps-price", "pre_sales", "product", "P3",
     ["这款{p}多少钱", "{p}现在什么价格", "想了解一下{p}的价格", "{p}的报价能发我一份吗", "{p}卖多少啊",
      "{p}官网价和门店价一样吗", "{p}啥价", "问下{p}价位大概多少", "{p}最低能给到什么价", "{p}贵不贵"],
     ["how much is the {p}", "what is the price of the {p}", "could you send me a quote for the {p}",
      "what does the {p} cost", "how much for the {p}", "price of {p}?", "is the {p} expensive",
      "what's the best price you can do on the {p}"]),
    ("ps-discount", "pre_sales", "product", "P3",
     ["{p}最近有优惠活动吗", "买两台{p}能打折吗", "双十一{p}有没有折扣", "有没有优惠券可以领", "{p}能便宜点不",
      "新用户买{p}有什么福利", "{p}以旧换新能抵多少", "学生买{p}有优惠吗", "{p}啥时候降价", "团购{p}有没有价格优惠"],
     ["is there any discount on the {p}", "do you have a promotion for the {p} this month", "any coupon for new customers",
      "is there a student discount for the {p}", "will the {p} go on sale soon", "can I trade in my old {p}",
      "any black friday deal on the {p}", "do you give a discount for bulk orders"]),
    ("ps-compare", "pre_sales", "product", "P3",
     ["{p}和上一代有什么区别", "{p}标准版和专业版怎么选", "帮我对比一下两款{p}的参数", "{p}跟别家比优势在哪",
      "预算三千买哪款{p}合适", "{p}pro和普通版差在哪", "两个型号的{p}纠结选哪个", "推荐一款适合家用的{p}",
      "{p}新款值得买吗", "哪款{p}性价比最高"],
     ["what is the difference between the {p} and the older model", "which {p} version should I choose",
      "can you compare the two {p} models for me", "which {p} would you recommend for home use",
      "is the new {p} worth buying", "pro vs standard {p}, what's the difference",
      "what's the best value {p} you sell", "thinking about buying a {p}, which one is best for me"]),
    ("ps-spec", "pre_sales", "product", "P3",
     ["{p}支持5G吗", "{p}的续航能有多久", "{p}是什么材质的", "{p}有几种颜色可选", "{p}的尺寸是多少",
      "{p}防水吗", "{p}重量多少", "{p}噪音大不大", "{p}内存有多大", "{p}适合多大的房间用"],
     ["does the {p} support 5G", "how long does the {p} battery last", "what colours does the {p} come in",
      "what are the dimensions of the {p}", "is the {p} waterproof", "how heavy is the {p}",
      "how much storage does the {p} have", "does the {p} work with 220V"]),
    ("ps-stock", "pre_sales", "product", "P3",
     ["{p}还有现货吗", "{p}什么时候到货", "{p}黑色的有货吗", "预售的{p}大概多久能买到", "{p}断货了吗",
      "{p}啥时候补货", "白色{p}还能买到吗", "{p}限量版还有没有"],
     ["is the {p} in stock", "when will the {p} be available again", "can I pre-order the {p}",
      "is the black {p} sold out", "when do you restock the {p}", "do you still have the limited edition {p}"]),
    ("ps-howbuy", "pre_sales", "product", "P3",
     ["在哪里可以买到{p}", "{p}线下门店有卖吗", "怎么下单购买{p}", "企业采购{p}怎么走流程", "想买{p}去哪下单",
      "{p}天猫有旗舰店吗", "公司要批量采购{p}找谁", "{p}可以货到付款吗"],
     ["where can I buy the {p}", "do you sell the {p} in physical stores", "how do I place a bulk order for the {p}",
      "I want to buy the {p}, how do I order", "can I pay cash on delivery for the {p}",
      "is the {p} sold on amazon", "our company wants to purchase 50 {p}s, who do I contact"]),
    ("ps-invoice-pre", "pre_sales", "product", "P3",
     ["买{p}可以开增值税专用发票吗", "下单前想确认能不能开公司抬头的发票", "{p}支持分期付款吗", "{p}能用花呗吗",
      "买{p}可以用信用卡分期吗", "对公转账买{p}可以吗"],
     ["can I get a VAT invoice if I buy the {p}", "do you offer instalment payment for the {p}",
      "can the invoice be issued to my company before I order", "can I pay for the {p} by bank transfer",
      "do you accept paypal for the {p}", "is there a monthly payment plan for the {p}"]),
    ("ps-warranty-pre", "pre_sales", "product", "P3",
     ["{p}保修期是多久", "买{p}送延保吗", "{p}的售后政策是怎样的", "{p}全国联保吗", "如果买了{p}坏了怎么保修",
      "{p}能买碎屏险吗"],
     ["how long is the warranty on the {p} before I buy", "does the {p} come with extended warranty",
      "what is your after-sales policy for the {p}", "is the {p} covered by international warranty",
      "thinking of buying the {p}, what warranty do I get"]),
    ("ps-ship-pre", "pre_sales", "logistics", "P3",
     ["现在下单{p}多久能发货", "{p}能送到新疆吗", "下单后一般几天能到", "可以指定送货时间吗", "{p}包邮吗",
      "偏远地区能送{p}吗", "买{p}用什么快递", "今天买{p}明天能到吗"],
     ["if I order the {p} today when will it ship", "do you deliver the {p} to Hong Kong",
      "how many days does delivery usually take", "is shipping free for the {p}",
      "do you ship the {p} abroad", "if I buy today can it arrive tomorrow"]),
    ("ps-compat", "pre_sales", "technical", "P3",
     ["{p}能兼容苹果系统吗", "{p}可以连接我们公司的系统吗", "{p}支持API对接吗", "{p}能不能和老设备配合使用",
      "{p}支持安卓吗", "{p}能连小爱同学吗", "{p}支持鸿蒙系统吗", "买之前问下{p}能不能接入我们的OA"],
     ["is the {p} compatible with macOS", "can the {p} integrate with our ERP system", "does the {p} offer an API",
      "does the {p} work with android", "will the {p} work with alexa", "before buying: does the {p} support linux"]),
    ("ps-trial", "pre_sales", "product", "P3",
     ["{p}可以申请试用吗", "有没有{p}的演示", "能先寄个样品看看吗", "{p}能免费试用几天", "门店可以体验{p}吗",
      "想先看看{p}的演示视频"],
     ["can I get a free trial of the {p}", "could you arrange a demo of the {p}", "can you send a sample first",
      "is there a trial version of the {p}", "can I try the {p} in a store"]),
    # ------------------------------------------------------------ after-sales 售后支持
    ("as-nopower", "after_sales", "after_sales", "P2",
     ["{p}无法开机", "{p}开不了机了", "{p}按电源键没反应", "{p}突然黑屏再也开不了机", "{p}充不进电也开不了机",
      "{p}不开机了咋办", "{p}一直卡在开机画面进不去", "{p}完全没反应像死了一样", "{p}通电了也启动不了",
      "{p}开机键按了半天都不亮"],
     ["my {p} won't turn on", "the {p} does not power on anymore", "{p} is dead and will not start",
      "the {p} screen stays black and won't boot", "my {p} is stuck on the boot logo",
      "the {p} won't charge or switch on", "pressed the power button, nothing happens on my {p}",
      "the {p} died and won't start up"]),
    ("as-refund-howto", "after_sales", "after_sales", "P3",
     ["退款流程是怎样的", "{p}不想要了怎么申请退款", "退款需要多久", "七天无理由退货怎么操作", "{p}怎么退",
      "退货运费谁出", "没拆封的{p}能退吗", "申请退款在哪个页面", "{p}买贵了能退差价吗", "取消订单钱多久退回来"],
     ["how do I request a refund for the {p}", "what is the refund process", "how long does a refund take",
      "I'd like to return the {p} within 7 days", "can I return an unopened {p}", "who pays for return shipping",
      "I want to cancel my order and get my money back", "how do I send the {p} back"]),
    # P2: an approved refund that is late (a refund marked as SENT that never arrived is P1: fs-refund-sent-missing
    # and the safety detector). v5 tried P1 here; both independent writers label the late refund P2 (dev set:
    # 6 false P1s), so "relabel" in wordings_v5_train.json is empty again
    ("as-refund-missing", "after_sales", "after_sales", "P2",
     ["退款申请已经通过了但钱还没到账", "说好三天退款到账现在还没收到", "退款一直显示处理中", "退款到账金额不对",
      "退货都寄回去半个月了钱还没退", "退款显示成功了但银行卡里没有", "你们收到退货了为啥还不退钱", "退的钱少了一百块"],
     ["my refund was approved but the money has not arrived", "it's been a week and I still haven't got my refund",
      "the refund shows processing for days", "you received my return two weeks ago and still no refund",
      "the refund says completed but nothing in my bank", "I was refunded less than I paid"]),
    ("as-exchange", "after_sales", "after_sales", "P3",
     ["收到的{p}颜色发错了想换货", "{p}尺寸不合适能换一个吗", "收到{p}有划痕要求换新", "{p}少了配件",
      "{p}发错型号了", "包装里没有说明书和充电线", "想把{p}换成大一号的", "{p}外壳有磕碰能换吗"],
     ["I received the wrong colour {p} and want an exchange", "the {p} arrived scratched, please replace it",
      "the {p} box is missing the charger", "you sent me the wrong model of {p}", "can I swap the {p} for a bigger size",
      "the {p} came with a dent, I want a new one"]),
    ("as-repair", "after_sales", "after_sales", "P3",
     ["{p}送修一周了维修进度怎么样", "{p}在保修期内可以免费维修吗", "{p}维修点在哪", "{p}屏幕碎了怎么修",
      "{p}修好了没", "{p}过保了修一下多少钱", "寄修{p}地址是哪里", "{p}换电池要多少钱"],
     ["what is the status of my {p} repair", "is the {p} repair covered by warranty", "where can I get my {p} repaired",
      "the {p} screen cracked, how do I get it fixed", "how much to replace the {p} battery",
      "is my {p} fixed yet", "where do I send the {p} for service"]),
    ("as-howto", "after_sales", "product", "P3",
     ["{p}怎么恢复出厂设置", "{p}的蓝牙怎么连接", "{p}怎么设置定时功能", "{p}说明书找不到了怎么用", "{p}怎么升级固件",
      "{p}滤网多久换一次", "{p}怎么清洁", "{p}怎么连wifi", "{p}的指示灯一直闪是什么意思", "{p}怎么调成静音"],
     ["how do I factory reset the {p}", "how do I pair the {p} over bluetooth", "how to set the timer on the {p}",
      "where can I find the {p} manual", "how do I connect the {p} to wifi", "how often should I change the {p} filter",
      "what does the blinking light on the {p} mean", "how do I clean the {p}"]),
    ("as-hwfault", "after_sales", "after_sales", "P2",
     ["{p}用了两天就坏了", "{p}屏幕出现条纹", "{p}有异响", "{p}摄像头打不开", "{p}充电特别慢而且发烫",
      "{p}左边耳机没声音", "{p}按键失灵了", "{p}屏幕触摸没反应", "{p}一直自动重启", "{p}电池掉电特别快"],
     ["the {p} broke after two days", "there are lines across the {p} screen", "the {p} makes a strange noise",
      "the {p} camera stopped working", "the left side of the {p} has no sound", "the {p} touchscreen is unresponsive",
      "my {p} keeps rebooting by itself", "the {p} battery drains really fast"]),
    ("as-bug", "after_sales", "technical", "P3",
     ["App一打开就闪退", "{p}的App更新后老是报错", "同步数据时提示错误代码", "页面一直加载不出来", "App偶尔卡顿",
      "app里的订单列表显示乱码", "小程序点支付没反应", "推送通知收不到", "app里图片加载不出来", "切换语言后界面错乱"],
     ["the app crashes when I open it", "after the update the {p} app keeps showing an error",
      "sync fails with an error code", "the page keeps loading forever", "I don't get push notifications from the app",
      "the app shows garbled text in my order list", "the pay button in the app does nothing sometimes",
      "images don't load in the app"]),
    ("as-blocked", "after_sales", "technical", "P2",
     ["{p}完全无法使用了", "激活码一直提示无效用不了", "绑定设备失败没法用", "升级后{p}功能全部用不了",
      "会员开通了但权益用不了", "{p}连不上网完全没法用", "账号被锁定了进不去", "付费功能一直提示未授权"],
     ["I can't use the {p} at all since yesterday", "my activation code is rejected so the {p} is unusable",
      "the {p} stopped working completely after the update", "my account is locked and I can't get in",
      "I paid for premium but none of the features work", "the {p} won't connect so it's useless"]),
    ("as-account", "after_sales", "technical", "P3",
     ["忘记密码怎么找回", "手机号换了怎么改绑", "怎么注销账号", "收不到验证码", "怎么修改昵称",
      "怎么开启两步验证", "怎么把账号绑定微信", "登录时验证码总是过期"],
     ["I forgot my password, how do I reset it", "how do I change the phone number on my account",
      "I don't receive the verification code", "how do I delete my account", "how can I change my email address",
      "how do I turn on two-factor authentication"]),
    ("as-logi-late", "after_sales", "logistics", "P3",
     ["订单下了三天还没发货", "物流一直没更新", "快递显示已签收但我没收到", "我的包裹到哪了", "物流太慢了",
      "啥时候给我发货啊", "快递单号查不到信息", "能帮我催一下快递吗", "我的货怎么还在路上", "能改一下收货地址吗"],
     ["my order has not shipped after three days", "the tracking has not updated for a week",
      "the parcel shows delivered but I never got it", "where is my package", "when will my order be shipped",
      "the tracking number doesn't work", "can you chase the courier for me", "can I change my delivery address"]),
    ("as-logi-urgent", "after_sales", "logistics", "P2",
     ["急需商品参加活动但下单三天未发货", "快递丢件了请马上处理", "货物在运输中损坏了", "发错地址了东西被退回",
      "包裹被压坏了里面的{p}也碎了", "快递说货丢了找不到", "明天就要用了到现在还没发货急死了", "整箱货在路上摔坏了"],
     ["I urgently need the goods for an event and they still haven't shipped", "the courier lost my parcel",
      "the {p} was damaged in transit", "the box arrived crushed and the {p} inside is broken",
      "the shipment was sent back because of a wrong address", "I need it tomorrow and it still hasn't left"]),
    ("as-order-status", "after_sales", "technical", "P2",
     ["订单支付成功但未显示物流", "付款后订单状态一直是待支付", "订单页面看不到我买的{p}", "钱付了订单却被取消了",
      "下单成功但订单记录里没有", "支付完成页面报错订单不见了"],
     ["I paid but the order shows no shipping info", "the order still says unpaid after payment",
      "my {p} order disappeared from my account", "I paid and then the order got cancelled by itself",
      "the payment went through but there is no order in my history"]),
    ("as-invoice", "after_sales", "after_sales", "P3",
     ["买了{p}怎么开发票", "发票抬头开错了能重开吗", "电子发票没收到", "能补开一张纸质发票吗", "发票税号写错了",
      "上个月的订单还能开发票吗"],
     ["how can I get an invoice for my {p} purchase", "the invoice has the wrong company name",
      "I haven't received the electronic invoice", "can you reissue my invoice with the tax number",
      "can I still get an invoice for last month's order"]),
    # P1 after-sales: funds / outage / safety / account security
    ("as-funds", "after_sales", "after_sales", "P1",
     ["扣款异常被扣了两次钱", "没买东西账户却被扣款", "余额突然不见了", "银行卡被重复扣款", "资金被冻结无法提现",
      "一笔订单扣了我三次钱", "钱包里的钱莫名其妙少了", "提现申请一直不到账资金去哪了", "信用卡出现不认识的扣费",
      "自动扣了一笔大额费用我根本没操作"],
     ["I was charged twice for one order", "money was taken from my account without a purchase",
      "my balance disappeared", "there is an unauthorized charge on my card", "my wallet balance dropped for no reason",
      "my withdrawal never arrived and the funds are gone", "you took a large payment I never authorised",
      "my funds are frozen and I can't withdraw"]),
    ("as-outage", "after_sales", "technical", "P1",
     ["系统无法登录影响业务办理", "所有员工都登不上后台", "平台大面积瘫痪", "服务中断客户都无法下单",
      "全部门店收银系统崩溃了", "全公司的人都进不去系统", "整个平台打不开了", "所有客户都付不了款",
      "后台挂了业务全停了", "全国的用户都登录失败"],
     ["nobody in our company can log in", "the whole platform is down for all users", "service outage, customers cannot order",
      "the system crashed for every store", "none of our staff can access the system", "your whole site is down",
      "all our customers are unable to pay", "the backend is down and our business has stopped"]),
    ("as-safety", "after_sales", "after_sales", "P1",
     ["{p}充电时冒烟了", "{p}漏电被电了一下", "{p}电池鼓包有爆炸危险", "{p}起火把桌子烧了", "{p}烫得冒火星",
      "{p}有股烧焦的味道还冒烟", "{p}电源线着火了", "孩子用{p}被电到了"],
     ["the {p} started smoking while charging", "I got an electric shock from the {p}", "the {p} battery is swelling",
      "the {p} caught fire", "there's a burning smell and smoke from the {p}", "sparks came out of the {p} plug",
      "my kid got shocked touching the {p}"]),
    ("as-hacked", "after_sales", "technical", "P1",
     ["账号被盗了有人在异地登录", "我的账户被别人改了密码", "发现账号里有陌生人下单", "有人盗用我的账号买东西",
      "收到异地登录提醒但不是我", "账号绑定的手机被别人改了"],
     ["my account was hacked", "someone changed my password and logged in", "strangers are placing orders from my account",
      "someone logged into my account from another country", "my account's phone number was changed by someone else"]),
    # ------------------------------------------------------------ complaint 投诉建议
    ("cp-attitude", "complaint", "after_sales", "P3",
     ["客服态度太差了", "你们客服说话很不耐烦", "电话里被客服挂断了", "客服一直敷衍我", "客服爱答不理的",
      "你们的人说话太冲了", "客服骂人你们管不管", "问个问题客服直接不回了"],
     ["your support agent was rude to me", "the agent hung up on me", "your staff keep brushing me off",
      "the person on the phone was really unpleasant", "your agent was condescending and unhelpful",
      "I was insulted by your customer service"]),
    ("cp-slow", "complaint", "after_sales", "P3",
     ["等了半天都没人回复我", "问题反映了三次都没人处理", "客服回复太慢了", "每次都说会回电结果没人打",
      "打了十几次电话都没人接", "工单提交一周了没人理", "你们效率太低了", "在线排队一个小时都没人"],
     ["nobody has replied to me for days", "I've reported this three times and nothing happened",
      "your response time is terrible", "I've called ten times and nobody answers",
      "you promised a call back that never came", "I waited an hour in the chat queue"]),
    ("cp-quality", "complaint", "product", "P3",
     ["{p}质量太差了非常失望", "宣传和实物严重不符", "{p}做工粗糙跟描述不一样", "买到的{p}是翻新机",
      "这{p}也太垃圾了吧", "花这么多钱买了个这破{p}", "{p}跟广告上说的差太远了", "感觉被骗了{p}根本不值这个价"],
     ["the {p} quality is awful, very disappointed", "the {p} is nothing like the advertisement",
      "I think I was sold a refurbished {p}", "this {p} is junk for the price", "I feel cheated by this {p}",
      "the {p} feels cheap and flimsy, not what you promised"]),
    ("cp-logistics", "complaint", "logistics", "P3",
     ["快递员态度恶劣还乱扔包裹", "快递员没送货上门就点了签收", "投诉你们合作的快递公司", "快递员让我自己下楼去拿还骂人",
      "送货的师傅把东西扔门口就走了", "你们用的什么破快递"],
     ["the courier threw my parcel and was rude", "the courier marked it delivered without coming",
      "I want to complain about your delivery company", "the driver left my parcel in the rain and left",
      "your courier refused to bring it upstairs and shouted at me"]),
    ("cp-result", "complaint", "after_sales", "P3",
     ["对处理结果很不满意", "说好的补偿一直没给", "售后推来推去没人负责", "维修了三次还是同样的问题",
      "你们就是在踢皮球", "这个处理方案我不接受", "承诺的事情一件都没做到", "给的解决方案太敷衍了"],
     ["I'm not satisfied with how this was handled", "the compensation you promised never came",
      "after-sales keeps passing me around", "it's been repaired three times and the problem is back",
      "I don't accept this solution", "you never keep your promises"]),
    ("cp-escalate", "complaint", "after_sales", "P2",
     ["再不解决我就去12315投诉", "我要找你们领导投诉", "不处理我就找媒体曝光", "已经联系律师准备起诉",
      "我要去消协告你们", "再拖我就发微博曝光你们", "叫你们经理来跟我说", "我要向工商局举报"],
     ["if this isn't fixed I will report you to the consumer association", "I want to speak to your manager now",
      "I will post this on social media and contact the press", "my lawyer will be in touch",
      "I'm going to file a formal complaint with the regulator", "escalate this to your supervisor immediately"]),
    ("cp-billing", "complaint", "after_sales", "P2",
     ["乱收费还不给解释", "会员自动续费没有提醒太坑了", "价格说变就变我要投诉", "偷偷给我开了收费服务",
      "刚买完就降价也不给保价", "取消了会员还在扣费太过分了"],
     ["you billed me for something I never agreed to", "the automatic renewal charged me without notice",
      "I'm complaining about hidden fees", "I cancelled my membership and you still bill me",
      "you signed me up for a paid plan without asking"]),
    ("cp-privacy", "complaint", "technical", "P2",
     ["我的个人信息被泄露了天天接到骚扰电话", "你们的App偷偷收集隐私", "没经过同意就给我发营销短信",
      "刚买完{p}就接到诈骗电话肯定是你们泄露的", "App要的权限太多了侵犯隐私", "退订了还一直给我发广告"],
     ["my personal data was leaked and I get spam calls", "your app collects data without consent",
      "stop sending me marketing messages I never agreed to", "right after buying I got scam calls, you leaked my data",
      "I unsubscribed and you keep emailing me ads"]),
    # ------------------------------------------------------------ requirement 需求
    ("rq-feature", "requirement", "product", "P4",
     ["建议{p}增加夜间模式", "希望{p}能支持多语言", "能不能加一个数据导出功能", "希望增加批量操作", "建议App加上指纹登录",
      "要是{p}能语音控制就好了", "希望app能加个收藏夹", "能不能出个电脑版客户端", "希望{p}可以自定义快捷键",
      "盼着能加个家庭共享功能"],
     ["please add a dark mode to the {p}", "it would be nice if the {p} supported more languages",
      "feature request: export data to Excel", "I suggest adding fingerprint login to the app",
      "it'd be great if the {p} had voice control", "could you add a wishlist to the app",
      "please make a desktop version", "I'd love a family sharing option"]),
    ("rq-improve", "requirement", "product", "P4",
     ["{p}的界面可以做得更简洁一些", "建议优化一下下单流程", "说明书可以写得更详细", "希望包装更环保一点",
      "字体能不能调大一点老人看不清", "建议把常用按钮放显眼一点", "搜索功能可以再好用点", "希望{p}的充电口改成type-c"],
     ["the {p} interface could be simpler", "the checkout process could be improved",
      "the manual should be more detailed", "consider using eco-friendly packaging",
      "the font in the app could be bigger", "the search could be smarter", "maybe switch the {p} to usb-c"]),
    ("rq-integration", "requirement", "technical", "P4",
     ["希望能开放接口对接我们的系统", "建议支持企业微信通知", "能否提供SDK给开发者", "希望支持钉钉单点登录",
      "建议增加webhook回调", "希望数据能同步到飞书"],
     ["we would like an API to connect our system", "please support Slack notifications",
      "could you provide an SDK for developers", "we'd love single sign-on with our company directory",
      "please add webhooks so we can sync data"]),
    ("rq-logistics", "requirement", "logistics", "P4",
     ["希望可以选择顺丰配送", "建议增加自提点", "希望可以预约送货时间", "能不能支持送货上门安装",
      "建议包裹放快递柜前先打个电话", "希望能开通夜间配送"],
     ["please offer express shipping as an option", "it would be great to have pickup points",
      "let customers choose a delivery time slot", "it would be nice to have evening deliveries",
      "please let us pick the courier company"]),
    ("rq-service", "requirement", "after_sales", "P4",
     ["建议客服延长服务时间到晚上十点", "希望售后可以上门取件", "建议增加在线视频指导", "希望能有专属客服",
      "建议售后网点多开几家", "希望周末也能有人工客服"],
     ["please extend support hours into the evening", "it would help if returns could be picked up at home",
      "offering video call support would be nice", "a dedicated account manager would be great",
      "please open more service centres"]),
    ("rq-product-new", "requirement", "product", "P4",
     ["希望推出{p}的mini版", "能不能出一款适合老人用的{p}", "希望{p}有更多配色", "期待出个儿童版的{p}",
      "希望{p}能出大容量款", "你们要是出个便携款{p}我肯定买"],
     ["please make a smaller version of the {p}", "you should release a {p} designed for seniors",
      "I'd love more colour options for the {p}", "a kids edition of the {p} would be cool",
      "please bring out a travel size {p}"]),
    # ------------------------------------------------------------ other 其他
    ("ot-partner", "other", "product", "P3",
     ["想跟贵公司谈一下商务合作", "我们想做{p}的代理商", "加盟需要什么条件", "希望成为你们的渠道合作伙伴",
      "我们是供应商想给你们供货", "想谈谈联名合作", "我们平台想引入你们的产品", "有没有区域代理政策"],
     ["we are interested in a business partnership", "we'd like to become a reseller of the {p}",
      "what are the requirements to become a distributor", "we are a supplier and would like to work with you",
      "we'd like to list your products on our marketplace", "is there a regional agent programme"]),
    ("ot-job", "other", "product", "P4",
     ["你们公司还招人吗", "想投递简历应该发到哪里", "有实习岗位吗", "客服岗位还缺人吗", "校招什么时候开始",
      "我想应聘你们的销售"],
     ["are you hiring", "where can I send my CV", "do you offer internships", "any open positions in customer service",
      "I'd like to apply for a job"]),
    ("ot-media", "other", "product", "P3",
     ["我是记者想做个采访", "想邀请贵公司参加行业展会", "学校课题想做个问卷调研", "想请你们的专家来做个分享",
      "我们是自媒体想做个测评合作", "行业协会想邀请贵司参会"],
     ["I'm a journalist and would like an interview", "we'd like to invite you to a trade fair",
      "I'm a student doing a survey for a university project", "we'd like a speaker from your company at our event",
      "I run a tech blog and want to review your products"]),
    ("ot-info", "other", "product", "P3",
     ["你们公司地址在哪", "你们上班时间是几点", "总部在哪个城市", "你们周末营业吗", "公司的传真号是多少",
      "你们是哪家公司旗下的"],
     ["what is your office address", "what are your opening hours", "where is your head office",
      "are you open on weekends", "which group does your company belong to"]),
    ("ot-chat", "other", "product", "P4",
     ["测试一下", "你好在吗", "谢谢你们之前的帮助", "打错电话了不好意思", "这个号码是哪个公司的", "我想找另一家店的客服",
      "没事了问题已经解决了", "哈哈哈", "祝你们生意兴隆", "发错了不好意思"],
     ["just testing", "hello is anyone there", "thanks for your help last time", "sorry wrong number",
      "which company is this", "I was looking for a different shop", "never mind, it's sorted now",
      "sent this by mistake, sorry"]),
]

# ------------------------------------------------------------------------------------------------ v2
# Wordings added in v2. They are APPENDED to each issue's v1 lists, so every v1 wording keeps its index
# and every v1 held-out wording is still held out (index % 4 == 3); ``_leak_check`` rejects a train
# wording that is a near copy of any held-out one. Two issues are new in v2 (complaints about a refund
# or a repair: the topic is after-sales, the intent is dissatisfaction with how it was handled).
NEW_ISSUES: list[tuple[str, str, str, str, list[str], list[str]]] = [
    ("cp-refund", "complaint", "after_sales", "P3",
     ["退款拖了一个月你们到底什么意思", "退货被你们无理拒绝我很不服", "申请了三次退款都被驳回太过分了",
      "你们退款流程设计得就是不想让人退", "为了退个款跑了五趟你们这服务真让人失望", "客服答应退款结果又反悔",
      "退款要我自己出运费还扣手续费太坑了", "退货你们说没收到明明签收了"],
     ["a month to process a refund, what kind of company is this",
      "you rejected my return for no reason and I'm not accepting that", "three refund requests all denied, this is outrageous",
      "your refund process is designed to make people give up", "the agent promised a refund and then went back on it",
      "you're charging me a fee to return a faulty item, that's a disgrace",
      "you claim you never got my return even though it was signed for"]),
    ("cp-repair", "complaint", "after_sales", "P3",
     ["维修师傅上门迟到两个小时还不道歉", "送修回来{p}反而多了划痕", "维修收费不透明乱报价",
      "修了一个月还没修好也不给个说法", "维修点的人态度傲慢", "保修期内维修还要我出钱说不过去"],
     ["the repair technician turned up two hours late and didn't apologise",
      "my {p} came back from repair with new scratches", "the repair quote keeps changing, it's not transparent",
      "a month at the repair centre and nobody can tell me anything", "the staff at your service centre were arrogant",
      "making me pay for a repair under warranty is not acceptable"]),
]

MORE_WORDINGS: dict[str, tuple[list[str], list[str]]] = {
    "ps-price": (
        ["{p}标价多少", "你们家{p}现在卖几块钱", "{p}到手价是多少", "请问{p}的官方售价", "{p}含税价格是多少",
         "想问问{p}的零售价", "{p}套餐价怎么算", "{p}加配件一共多少钱", "{p}的价目表有吗"],
        ["what's the retail price of the {p}", "could you tell me the {p} price including tax",
         "how much would two {p}s cost me", "do you have a price list for the {p}",
         "what would the {p} cost with accessories", "is the {p} price the same online and in store",
         "what do you charge for the {p}", "price check on the {p} please"]),
    "ps-discount": (
        ["{p}现在下单有满减吗", "会员买{p}打几折", "{p}有没有赠品", "领了券买{p}能叠加吗", "{p}618会不会便宜",
         "老客户回购{p}有优惠不", "{p}有没有分享立减", "企业客户批量买{p}能打折吗"],
        ["do members get money off the {p}", "can I stack coupons on the {p}",
         "does the {p} come with any free gifts right now", "any loyalty discount for returning customers buying the {p}",
         "is there a bundle deal if I buy the {p} with accessories", "do you price match on the {p}",
         "any promo code I can use for the {p}", "will there be a holiday sale on the {p}"]),
    "ps-compare": (
        ["{p}和别的牌子比哪个好", "两款{p}电池哪个更耐用", "给老人买{p}选哪款好", "{p}入门款够用吗",
         "{p}旗舰版多出来的功能有必要吗", "小户型用哪款{p}", "打游戏用哪款{p}更合适", "{p}今年款和去年款差别大吗"],
        ["which {p} is better for a small apartment", "is the entry-level {p} good enough for everyday use",
         "what does the premium {p} have that the basic one doesn't", "which {p} has the longer battery life",
         "I'm choosing between two {p} models, can you help", "which {p} is best for an elderly person",
         "is it worth paying extra for the {p} plus", "how does your {p} compare with other brands"]),
    "ps-spec": (
        ["{p}屏幕多大", "{p}是几核处理器", "{p}支持快充吗", "{p}功率是多少瓦", "{p}有没有夜间模式", "{p}带不带遥控器",
         "{p}可以插卡扩展吗", "{p}待机能撑几天"],
        ["what is the screen size of the {p}", "does the {p} support fast charging", "how many watts does the {p} use",
         "does the {p} have a remote control", "can I expand the storage on the {p}", "what processor does the {p} have",
         "how loud is the {p} on max setting", "does the {p} have a night mode"]),
    "ps-stock": (
        ["{p}128G版本有货吗", "你们仓库还有{p}吗", "{p}现在能买到现货吗还是要等", "{p}新色什么时候上架",
         "{p}这个月能到货吗", "门店还有{p}样机卖吗"],
        ["do you have the 128GB {p} in stock", "is the {p} available for immediate delivery",
         "when does the new colour of the {p} go on sale", "how long is the waiting list for the {p}",
         "do any stores near me have the {p}", "has the {p} been restocked"]),
    "ps-howbuy": (
        ["{p}官网怎么下单", "能不能电话订购{p}", "外地可以买{p}吗", "{p}在哪个平台买是正品", "想给公司订二十台{p}怎么联系销售",
         "{p}可以预约到店提货吗"],
        ["can I order the {p} over the phone", "which website sells the genuine {p}", "how do I order the {p} from overseas",
         "can I reserve the {p} and pick it up in store", "who handles corporate orders for the {p}",
         "what payment methods can I use to buy the {p}"]),
    "ps-invoice-pre": (
        ["买{p}能开普票吗", "{p}分期有没有手续费", "下单时发票抬头在哪里填", "{p}支持微信支付吗", "买{p}可以先付定金吗",
         "{p}能不能用公司账户付款"],
        ["can I split the {p} payment into 12 months", "do you charge interest on instalments for the {p}",
         "where do I enter the company name for the invoice when ordering",
         "can I pay a deposit now and the rest later for the {p}", "do you accept apple pay for the {p}",
         "can our company be invoiced for the {p} before delivery"]),
    "ps-warranty-pre": (
        ["{p}质保几年", "{p}电池保修吗", "买{p}多少天内可以换新", "{p}有没有上门维修服务", "{p}保修包括人为损坏吗"],
        ["how many years of warranty does the {p} have", "is the battery of the {p} covered by the warranty",
         "does the {p} warranty cover accidental damage", "do you offer on-site service for the {p}",
         "can I buy an extra warranty plan with the {p}", "does the {p} come with a guarantee"]),
    "ps-ship-pre": (
        ["{p}下单后从哪个仓发货", "{p}能不能加急配送", "{p}送货上门吗", "海外能寄{p}吗", "{p}运费多少",
         "{p}大件需要另付安装费吗"],
        ["which warehouse would the {p} ship from", "is express shipping available for the {p}",
         "can the {p} be delivered to a PO box", "do you deliver the {p} to my door or to a pickup point",
         "do you charge extra to install the {p} at home", "what courier would you use for the {p}"]),
    "ps-compat": (
        ["{p}能连我家的路由器吗", "{p}支持Windows吗", "{p}能和苹果手表配对吗", "{p}有没有开放接口给开发者",
         "{p}能和我们现有的收银系统对接吗", "{p}可以用在车上吗"],
        ["can the {p} connect to my existing router", "does the {p} run on windows 11", "is the {p} compatible with iphone",
         "can the {p} talk to our POS system", "will the {p} work with google home", "can the {p} pair with my car over bluetooth"]),
    "ps-trial": (
        ["{p}能不能先体验再买", "有{p}的试用装吗", "可以预约{p}的上门演示吗", "{p}试用期满了怎么收费", "企业版{p}能试用一个月吗"],
        ["can I test the {p} before buying", "do you have demo units of the {p}", "can someone show us the {p} at our office",
         "how long is the free trial of the {p}", "can our team trial the business edition of the {p}"]),
    "as-nopower": (
        ["{p}充了一晚上电还是开不起来", "{p}指示灯都不亮了", "{p}昨天还好好的今天开不了机", "{p}掉地上以后就不开机了",
         "{p}一直重启进不了系统", "{p}插上电源毫无反应", "{p}开机就自动关机", "{p}进水后再也打不开"],
        ["the {p} won't switch on even after charging all night", "no lights at all on the {p} anymore",
         "the {p} worked yesterday and now it won't start", "my {p} shuts down as soon as I turn it on",
         "after I dropped the {p} it won't power up", "the {p} got wet and now it's completely dead",
         "plugged the {p} in, still no sign of life", "the {p} keeps looping on startup and never loads"]),
    "as-refund-howto": (
        ["退货要自己寄回去吗", "退款会退到原支付账户吗", "拆封了的{p}还能退吗", "退货需要保留包装盒吗", "怎么取消订单退款",
         "退款进度在哪里看", "买了{p}不合适想退掉怎么弄", "退货地址是哪里"],
        ["do I need the original box to return the {p}", "will the refund go back to my credit card",
         "where can I see my refund status", "can I return the {p} if I've opened it", "what's your return policy for the {p}",
         "how do I get a return label", "the {p} doesn't suit me, how do I return it",
         "can I get a refund instead of store credit"]),
    "as-refund-missing": (
        ["退款说七个工作日到现在都十五天了", "退款审核通过一周了还没看到钱", "退货你们签收了钱却一直没退",
         "退款显示已原路退回可是账上没有", "申请退款后订单关闭了钱没回来", "取消订单好几天了钱还没退回",
         "银行说没收到你们的退款", "退款卡在财务审核好多天了"],
        ["refund approved ten days ago, still nothing on my card", "the order was cancelled days ago and my money isn't back",
         "my bank says no refund has come from you", "refund stuck in pending since last month",
         "the refund status says sent but my account shows nothing"]),
    "as-exchange": (
        ["{p}颜色跟图片不一样想换", "{p}送来的是旧款能换新款吗", "{p}屏幕有坏点要求换货", "换货的话要多久能收到新的",
         "{p}型号买错了能换吗", "换货的话旧的要先寄回吗"],
        ["the {p} colour doesn't match the photo, can I exchange it", "I got last year's {p} instead of the new one",
         "there's a dead pixel on my new {p}, I want a replacement", "how long does an exchange take",
         "I ordered the wrong {p} model, can I swap it", "do I have to send the old {p} back before the exchange"]),
    "as-repair": (
        ["{p}寄去维修多久能寄回来", "{p}维修要带发票吗", "{p}保外维修怎么收费", "维修单号查不到进度", "{p}能上门修吗",
         "{p}修的时候数据会丢吗", "附近有没有{p}授权维修店", "{p}修完寄回来的快递单号是多少"],
        ["how long will the {p} repair take", "do I need the receipt to get the {p} repaired",
         "can a technician come to fix the {p}", "will I lose my data if the {p} goes in for repair",
         "is there an authorised {p} repair shop near me", "what's the tracking number for my repaired {p}"]),
    "as-howto": (
        ["{p}怎么设置儿童锁", "{p}怎么跟手机配对", "{p}的App在哪下载", "{p}遥控器怎么配对", "{p}怎么关掉提示音",
         "{p}第一次用需要充多久", "{p}怎么切换模式", "{p}怎么导出数据"],
        ["how do I turn off the beeping on the {p}", "how long should I charge the {p} before first use",
         "how do I switch modes on the {p}", "where do I download the {p} app", "how do I set up the child lock on the {p}",
         "how do I update the {p} software", "how do I link the {p} to my phone",
         "how do I schedule the {p} to start automatically"]),
    "as-hwfault": (
        ["{p}喇叭有杂音", "{p}充电口松了接触不良", "{p}屏幕漏液了", "{p}吸力越来越小", "{p}一用就发热很烫手",
         "{p}wifi模块坏了连不上", "{p}电机转不动了", "{p}指纹识别失灵"],
        ["the {p} speaker crackles", "the charging port on the {p} is loose", "the suction on the {p} has become really weak",
         "the {p} overheats after a few minutes of use", "the {p} motor has stopped spinning",
         "the fingerprint reader on the {p} no longer works", "the {p} display flickers constantly",
         "one of the {p} buttons is stuck"]),
    "as-bug": (
        ["App登录后页面空白", "{p}的App提交订单时提示网络异常", "App里的优惠券用不了显示错误", "更新后App字体变得很小",
         "App上传头像一直失败", "App里订单状态不刷新", "小程序打开报500", "App通知栏一直弹同一条消息"],
        ["the app shows a blank page after login", "I get a network error when submitting an order in the app",
         "the app won't let me upload a profile picture", "order status in the app never refreshes",
         "the mini program returns error 500", "the same notification keeps popping up in the app",
         "the app logs me out every few minutes", "the settings page in the app is missing after the update"]),
    "as-blocked": (
        ["{p}提示设备已停用无法使用", "会员到期续费了还是用不了", "{p}一直显示离线根本用不了", "账号被误封了什么都做不了",
         "{p}绑定不上账号一直没法用", "扫码激活一直失败{p}没法开始用"],
        ["the {p} says device disabled and I can't use it", "I renewed my subscription but still can't use anything",
         "the {p} shows offline all the time so I can't use it", "the {p} refuses to pair with my account so it's useless",
         "the activation QR code fails every time, can't start using the {p}",
         "the license key you sent doesn't activate the software"]),
    "as-account": (
        ["怎么修改登录密码", "怎么绑定邮箱", "账号能不能合并", "怎么退出其他设备的登录", "实名认证怎么做", "怎么更换账号头像",
         "能用邮箱登录吗", "子账号怎么添加"],
        ["how do I change my login password", "can I merge two accounts", "how do I sign out of other devices",
         "how do I verify my identity on the account", "can I log in with my email instead of phone",
         "how do I add a sub-account for my family"]),
    "as-logi-late": (
        ["显示派送中一整天了还没到", "物流信息停在中转站三天了", "我的订单什么时候能到", "能不能改成自提", "快递员电话打不通",
         "包裹显示被退回了是怎么回事", "包裹是不是放快递柜了", "收货人能改成我同事吗"],
        ["the parcel has been out for delivery all day", "tracking is stuck at the sorting centre",
         "when can I expect my order", "can I pick it up myself instead", "the courier's phone number doesn't answer",
         "why does my parcel say returned to sender", "is my package in a parcel locker", "can someone else sign for it"]),
    "as-logi-urgent": (
        ["快递把我的{p}弄丢了要赔", "加急件延误了耽误了大事", "婚礼要用的货到现在都没到", "快递签收的是别人我的货丢了",
         "展会明天开始货还在路上急死了", "客户等着用的配件被快递送丢了"],
        ["the courier says my {p} is missing from their depot", "my urgent shipment is late and I have a deadline tomorrow",
         "the goods for our wedding still haven't arrived", "someone else signed for my parcel and it's gone",
         "the express order I paid extra for is three days late"]),
    "as-order-status": (
        ["我的订单号在系统里查不到", "支付成功后页面卡住了订单没生成", "订单一直显示审核中", "订单详情页打不开",
         "下的单在我的订单里找不到"],
        ["my order number can't be found in the system", "payment succeeded but the page froze and no order was created",
         "the order has been under review for days", "I can't open my order details",
         "the order I placed isn't listed under my orders"]),
    "as-invoice": (
        ["发票什么时候开好", "电子发票怎么下载", "发票金额不对", "我要把个人发票换成公司发票", "开票信息在哪修改",
         "发票能寄到另一个地址吗"],
        ["when will my invoice be ready", "how do I download the e-invoice", "the invoice amount is wrong",
         "can I change the invoice from personal to company", "where do I edit my billing details for invoices",
         "can you post the paper invoice to a different address"]),
    "as-funds": (
        ["账户里莫名多了一笔消费", "余额被清零了", "绑定的银行卡被盗刷了", "钱包里的钱被转走了", "扣款金额比订单多了好几倍"],
        ["there's a purchase on my account I didn't make", "my balance was reset to zero",
         "money was transferred out of my wallet", "you took five times the order amount",
         "my savings in the app account are gone"]),
    "as-outage": (
        ["公司系统进不去影响所有人办公", "你们服务器挂了我们整个门店停摆", "所有设备同时掉线了", "App全国范围打不开",
         "后台登录页一直报错大家都进不去"],
        ["every one of our devices went offline at once", "the app won't open anywhere in the country",
         "the admin login errors out for everyone", "our whole team is locked out of the platform",
         "the platform has been unreachable for an hour for all our users"]),
    "as-safety": (
        ["{p}插座烧黑了", "{p}电池发烫变形", "{p}有火花冒出来", "{p}用着用着突然炸了", "{p}烧焦了一股塑料味"],
        ["the {p} socket turned black and melted", "the {p} battery got hot and bulged", "sparks are flying from the {p}",
         "the {p} suddenly exploded", "the {p} smells of burning plastic"]),
    "as-hacked": (
        ["陌生设备登录了我的账号", "账号里的积分被人盗用了", "有人用我的账号改了收货地址", "账号被人登录后绑定了别的银行卡"],
        ["someone used my points without permission", "someone changed the delivery address on my account",
         "my account was taken over and linked to another card", "I got a login alert from a device that isn't mine"]),
    "cp-attitude": (
        ["你们客服说话阴阳怪气的", "客服一问三不知还嫌我烦", "客服把我电话转来转去最后挂了", "我要投诉那个接线的客服",
         "客服的语气让我很不舒服"],
        ["your agent was sarcastic the whole call", "the rep didn't know anything and got annoyed with me",
         "I was transferred five times and then cut off", "I want to file a complaint about the agent I spoke to",
         "your chat agent just copy-pasted answers and ignored me"]),
    "cp-slow": (
        ["投诉了好几天一点回音都没有", "答应今天给答复到现在没消息", "你们处理问题的速度也太慢了", "同一个问题我已经说了五遍了",
         "留言三天了没人回"],
        ["it's been five days and I've heard nothing back", "I've explained the same problem five times now",
         "the speed of your support is ridiculous", "my message from three days ago is still unanswered",
         "every time I contact you I have to start from scratch"]),
    "cp-quality": (
        ["{p}用料太差一碰就掉漆", "{p}跟直播间说的完全两回事", "这么贵的{p}做工像地摊货", "{p}才用一周就出问题你们质量怎么把关的",
         "{p}的实际效果跟宣传差距太大我很失望"],
        ["the paint on the {p} chips off if you touch it", "the {p} is nothing like what the livestream showed",
         "one week of use and the {p} is already failing, what quality control do you have",
         "the {p} performs far worse than advertised, I'm really let down"]),
    "cp-logistics": (
        ["你们的快递员打电话态度很差", "快递员不打招呼就把东西放驿站", "送货的把我的箱子踩得全是脚印", "投诉一下你们的配送服务太差"],
        ["your courier was rude on the phone", "the delivery guy left muddy footprints all over my box",
         "your delivery service is awful and I want to complain", "the courier demanded a tip before handing over my parcel"]),
    "cp-result": (
        ["上次的问题根本没解决你们就关单了", "说好的上门维修一直不来人", "你们售后就知道让我等", "这样的售后处理让人寒心",
         "问题拖了一个月还是没结果"],
        ["you closed my ticket without fixing anything", "the home repair you promised never showed up",
         "all your after-sales team does is tell me to wait", "a month later and still no resolution, this is unacceptable",
         "the way my case was handled is shameful"]),
    "cp-escalate": (
        ["我已经在黑猫投诉上发帖了", "再不给说法我就报警", "明天我就去你们总部门口讨说法", "我要打市长热线投诉你们",
         "这事我会在网上曝光"],
        ["I've already posted about this on a complaints website", "I'm going to call the police if this isn't sorted",
         "I'll come to your head office in person tomorrow", "I'm reporting you to the trading standards office",
         "I'll make sure everyone online hears about this"]),
    "cp-billing": (
        ["莫名其妙多收了服务费", "买的时候没说要另收安装费", "退订后还照样扣会员费", "续费价格比原来贵了一倍也不通知"],
        ["you charged a service fee nobody mentioned", "installation was supposed to be free and you billed me",
         "my renewal price doubled without any notice", "I was charged a cancellation fee I was never told about"]),
    "cp-privacy": (
        ["你们把我的电话卖给了推销公司", "注销了账号数据还没删", "App一直在后台定位我", "快递单上把我全名和地址都露出来了",
         "营销电话一天打好几个烦死了"],
        ["you sold my number to telemarketers", "I deleted my account but you still have my data",
         "the app tracks my location in the background",
         "my full name and address were printed on the outside of the parcel", "your sales people call me several times a day"]),
    "rq-feature": (
        ["建议{p}加个定时关机", "希望App能支持横屏", "能不能增加一个订单导出", "建议加入深色主题", "希望{p}可以远程控制",
         "期待增加语音播报功能", "要是App能记住我的筛选条件就好了", "希望以后能支持多账号切换"],
        ["suggestion: add a sleep timer to the {p}", "please let the app rotate to landscape",
         "would love to see an order export option", "it'd be handy if the {p} could be controlled remotely",
         "please consider adding voice announcements", "I wish the app remembered my filters",
         "support for switching between accounts would be great"]),
    "rq-improve": (
        ["App的菜单层级太深建议简化", "希望{p}的说明书加上图示", "建议结账页面少填几项", "{p}的指示灯太亮了建议调暗一点",
         "希望客服机器人能更智能一点", "建议把退货入口做得明显些"],
        ["the menus in the app are too deep, please simplify", "adding diagrams to the {p} manual would help",
         "checkout asks for too many fields, could be shorter", "the {p} indicator light is too bright, maybe dim it",
         "your chatbot could be a lot smarter", "the returns button could be easier to find"]),
    "rq-integration": (
        ["希望能对接我们的ERP", "建议开放数据接口", "能否提供批量导入的接口", "希望能和Teams集成"],
        ["an integration with our ERP would be very useful", "could you open up a data API",
         "a bulk import endpoint would save us hours", "integration with microsoft teams would be great",
         "it would be good to have a zapier connector"]),
    "rq-logistics": (
        ["希望能支持周末送货", "建议包装里放个防震泡沫", "希望能选择送到公司", "建议快递到了先发短信通知",
         "希望物流信息能更新得更及时"],
        ["some padding inside the box would be a good idea", "it would be nice to get a text before the courier arrives",
         "please add an option to deliver to my office", "more frequent tracking updates would be nice"]),
    "rq-service": (
        ["建议增加微信客服入口", "希望售后能提供备用机", "建议客服电话加个回拨功能", "希望退换货能更简单一点",
         "建议节假日也安排人工客服"],
        ["a loan device during repairs would be appreciated", "please add a call-back option to your hotline",
         "it would be nice if exchanges were simpler", "support on public holidays would help",
         "a WeChat support channel would be convenient"]),
    "rq-product-new": (
        ["希望出一款带屏幕的{p}", "能不能出个无线版{p}", "期待{p}推出联名款", "希望有更便宜的入门款{p}", "建议出个商用版本的{p}"],
        ["you should make the {p} wireless", "I'd buy a {p} with a built-in screen",
         "please release a cheaper entry-level {p}", "please make a business model of the {p}",
         "how about a limited edition {p} collab"]),
    "ot-partner": (
        ["想和贵公司洽谈战略合作", "能不能给个招商经理的联系方式", "有兴趣做OEM代工吗", "想和你们一起出个联名产品"],
        ["could you put me in touch with your business development team", "we'd like to discuss a strategic partnership",
         "are you open to OEM manufacturing deals", "we'd like to co-brand a product with you",
         "we run a chain of shops and want to talk about a partnership"]),
    "ot-job": (
        ["你们招不招兼职", "想问一下面试结果出来了吗", "应届生可以投你们公司吗", "人事部的邮箱是多少"],
        ["do you have part-time jobs", "have the interview results come out", "can graduates apply to your company",
         "what's the HR email address"]),
    "ot-media": (
        ["我们电视台想拍一期关于贵公司的节目", "想约贵公司高管做个访谈", "我们在写行业报告想请教几个问题",
         "大学生创业比赛想请你们做评委", "想邀请你们参加直播访谈"],
        ["our TV channel would like to film a segment about your company", "could we interview one of your executives",
         "I'm writing an industry report and have a few questions", "would you judge a student startup competition",
         "we'd like you on our podcast"]),
    "ot-info": (
        ["你们公司有几个分部", "客服电话是多少", "你们成立多少年了", "公司官网是哪个"],
        ["how many branches does your company have", "what's your customer service number",
         "how long has your company been around", "what's your official website", "is there parking at your office"]),
    "ot-chat": (
        ["好的知道了", "嗯嗯好的", "点错了", "你们是机器人吗", "今天天气不错", "辛苦了"],
        ["ok got it", "great, thanks", "are you a bot", "nice weather today", "have a good day"]),
}


MORE_WORDINGS_2: dict[str, tuple[list[str], list[str]]] = {
    "ps-price": (["{p}最新款定价出来了吗", "{p}比上个月贵了还是便宜了", "请报一下{p}企业版的单价", "{p}的价格包含安装吗"],
                 ["has the price of the new {p} been announced", "is the {p} cheaper than last month",
                  "please quote me a unit price for the business {p}", "does the {p} price include installation"]),
    "ps-discount": (["{p}现在买送不送延保", "{p}有没有以旧换新补贴", "{p}新品首发有优惠吗", "推荐朋友买{p}有返现吗"],
                    ["is there a launch offer on the new {p}", "do I get cashback for referring a friend to buy the {p}",
                     "any trade-in subsidy on the {p}", "is the {p} on offer this weekend"]),
    "ps-compare": (["{p}这两个配置差价值不值", "想买{p}但不知道选哪个尺寸", "{p}哪个颜色最耐脏", "办公用{p}买哪款"],
                   ["is the higher spec {p} worth the extra money", "not sure which size {p} to buy",
                    "which {p} would suit an office", "what is the main difference between your two cheapest {p}s"]),
    "ps-spec": (["{p}支持无线充电吗", "{p}有中文说明书吗", "{p}能放进登机箱吗", "{p}的电池容量是多少"],
                ["does the {p} support wireless charging", "does the {p} come with a chinese manual",
                 "will the {p} fit in carry-on luggage", "what is the battery capacity of the {p}"]),
    "ps-stock": (["{p}大号的还有吗", "{p}下周能补上货吗", "想买的{p}显示无货什么时候有"],
                 ["do you still have the large {p}", "will the {p} be restocked next week",
                  "the {p} I want shows unavailable, when will it be back"]),
    "ps-howbuy": (["{p}可以在你们小程序上直接买吗", "我在国外怎么买{p}", "买{p}需要注册会员吗"],
                  ["can I buy the {p} in your mini program", "I live abroad, how can I buy the {p}",
                   "do I need an account to buy the {p}"]),
    "ps-invoice-pre": (["买{p}能开电子发票吗", "{p}支持先用后付吗", "付款方式有哪些"],
                       ["will I get an e-invoice if I buy the {p}", "can I buy now and pay later for the {p}",
                        "what payment options do you accept"]),
    "ps-warranty-pre": (["{p}屏幕坏了保修管不管", "请问{p}的保修是整机还是只保主板", "{p}延保一年多少钱",
                         "{p}的售后服务网点多吗", "如果买了{p}多久内可以无理由退"],
                        ["what exactly does the {p} warranty cover", "how much does a one-year warranty extension cost for the {p}",
                         "are there many service centres for the {p}", "if I buy the {p} how many days do I have to return it",
                         "is the {p} screen covered under warranty"]),
    "ps-ship-pre": (["{p}大概几天能送到上海", "{p}是顺丰发货吗", "现在下单{p}春节前能到吗", "{p}能送货上楼吗",
                     "{p}可以寄到学校吗"],
                    ["how many days would the {p} take to reach Shanghai", "do you ship the {p} by express courier",
                     "if I order the {p} now will it arrive before the holidays", "can the {p} be carried upstairs on delivery",
                     "can you ship the {p} to my university"]),
    "ps-compat": (["{p}能用苹果的充电器吗", "{p}支持中文语音吗", "{p}的接口是标准的吗"],
                  ["can I charge the {p} with my apple charger", "does the {p} understand chinese voice commands",
                   "does the {p} use standard connectors"]),
    "ps-trial": (["{p}有没有体验店", "能借一台{p}试几天吗", "{p}演示版在哪下载"],
                 ["is there a showroom where I can try the {p}", "could I borrow a {p} for a few days to test",
                  "can I get a demo account for the {p}"]),
    "as-nopower": (["{p}一开机就死机", "{p}电量显示满了但就是不启动", "{p}升级完固件后开不了机"],
                   ["the {p} freezes on the logo and never starts", "the {p} shows full battery but won't start",
                    "after the firmware update my {p} won't boot"]),
    "as-refund-howto": (["收到的{p}不想要了可以退吗", "退货是上门取件还是我寄", "退款多久能审核"],
                        ["I don't want the {p} anymore, can I return it", "will you pick up the return or do I post it",
                         "how long does the refund review take"]),
    "as-refund-missing": (["退货单号都给你们了退款还没动静", "退款说到账了可是支付宝里没有", "订单取消一周钱没退回来"],
                          ["I gave you the return tracking number and the refund still hasn't moved",
                           "you say the refund was paid but it's not in my account",
                           "it's been a week since the cancellation and no money back"]),
    "as-exchange": (["{p}收到尺寸不对麻烦换一个", "{p}漏发了一个配件", "想把{p}换成另一个颜色"],
                    ["the {p} is the wrong size, please exchange it", "one accessory was left out of my {p} order",
                     "I'd like to exchange the {p} for another colour"]),
    "as-repair": (["{p}送修的进度能查一下吗", "{p}维修好了能寄到新地址吗", "{p}在保修期内维修要钱吗"],
                  ["can you check the progress of my {p} repair", "can you send the repaired {p} to a new address",
                   "do I pay anything for a repair within warranty"]),
    "as-howto": (["{p}怎么重置网络", "{p}怎么设置成中文", "{p}的定时预约怎么用", "{p}怎么查看剩余电量", "{p}怎么添加家庭成员"],
                 ["how do I reset the network settings on the {p}", "how do I change the {p} language to chinese",
                  "how do I use the booking timer on the {p}", "how can I check how much battery the {p} has left",
                  "how do I add family members to the {p}"]),
    "as-hwfault": (["{p}没用几天屏幕就花了", "{p}充满电只能用一小时", "{p}麦克风对方听不到", "{p}开着开着自己关机",
                    "{p}底部有个零件掉了", "{p}滚刷不转了"],
                   ["the {p} screen went fuzzy after a few days", "a full charge of the {p} only lasts an hour",
                    "people can't hear me through the {p} microphone", "the {p} switches itself off while I'm using it",
                    "a part fell off the bottom of the {p}", "the brush on the {p} doesn't spin anymore"]),
    "as-bug": (["App里的搜索搜不出东西", "App切后台回来就重新加载", "提交评价一直失败"],
               ["search in the app returns nothing", "the app reloads every time I switch back to it",
                "submitting a review always fails"]),
    "as-blocked": (["{p}一直提示账号异常没法操作", "{p}出厂重置后激活不了完全没法用", "付了钱会员功能还是锁着"],
                   ["the {p} keeps saying account error and I can't do anything",
                    "after a factory reset the {p} won't activate so I can't use it",
                    "I paid but the member features are still locked"]),
    "as-account": (["怎么解绑旧手机号", "账号的实名信息能改吗", "密码输错几次被冻结了多久能解"],
                   ["how do I unlink my old phone number", "can I change the name on my account",
                    "I entered the wrong password too often, when will I be able to log in again"]),
    "as-logi-late": (["买了一周了还没发货是什么情况", "物流显示到了我们城市但一直不派送", "能帮我看看物流卡在哪了"],
                     ["it's been a week and my order hasn't shipped, what's going on",
                      "tracking says it reached my city but nobody delivers it", "could you see where my shipment is stuck"]),
    "as-logi-urgent": (["快递员把{p}摔碎了", "签收时发现箱子破了里面的东西坏了", "急用的货发到别的城市去了"],
                       ["the courier smashed my {p}", "the box was torn open on arrival and the contents are damaged",
                        "the goods I urgently need were sent to the wrong city"]),
    "as-order-status": (["付款成功了订单却显示已关闭", "订单付款后一直没有发货信息也查不到", "我买的东西在订单里消失了"],
                        ["payment went through but the order says closed", "I paid and there's no trace of the order anywhere",
                         "the item I bought vanished from my order list"]),
    "as-invoice": (["发票抬头写错了怎么改", "开的发票少了一件商品", "专票什么时候能寄出"],
                   ["how do I fix the name on my invoice", "the invoice is missing one of the items",
                    "when will the VAT invoice be posted"]),
    "as-funds": (["卡里突然少了两千块是你们扣的吗", "充值的钱没到账余额还少了", "同一笔订单付了三次款", "账户资金显示异常"],
                 ["two thousand disappeared from my card, was it you", "my top-up never arrived and my balance went down",
                  "I paid three times for the same order", "my account balance looks wrong and money is missing"]),
    "as-outage": (["全部门店都登不上收银系统", "所有用户都收不到验证码登录不了", "系统崩了整个公司没法干活",
                   "线上商城整个打不开"],
                  ["none of our stores can log in to the till system", "no user can receive a login code so nobody can get in",
                   "the system crashed and our whole company can't work", "the online shop is completely down"]),
    "as-safety": (["{p}充电器烧化了", "{p}插头冒火花吓死了", "{p}漏水漏电了", "{p}电池鼓起来快爆了"],
                  ["the {p} charger melted", "the {p} plug sparked and scared me", "the {p} is leaking and giving shocks",
                   "the {p} battery is bulging and looks about to burst"]),
    "as-hacked": (["有人登录我账号把余额花了", "我的账号被别人绑了新手机"],
                  ["someone got into my account and spent my balance", "a stranger linked a new phone to my account"]),
    "cp-attitude": (["客服跟我吵起来了", "你们客服说这不归他们管就不理我了", "客服说话太难听了", "这是我遇到过最差的客服"],
                    ["your agent argued with me", "the agent said it's not their department and ignored me",
                     "the way your staff spoke to me was disgusting", "worst customer service I have ever had"]),
    "cp-slow": (["说好24小时回复三天了都没人理", "每次问都说在处理到底处理到哪了", "找了你们一个星期问题还悬着"],
                ["you said 24 hours, it's been three days with no reply", "every time I ask you say it's being handled, handled how",
                 "a whole week chasing you and it's still not sorted"]),
    "cp-quality": (["{p}质量这么差还好意思卖这么贵", "一个{p}用了三天就掉色你们也太差劲了", "{p}跟样品差别也太大了吧"],
                   ["how can you charge so much for such poor quality", "the {p} faded after three days, this is poor",
                    "the {p} I got is way worse than the sample"]),
    "cp-logistics": (["快递员服务太差了说话很冲", "送货的没按约定时间来白等一天", "快递员把包裹直接扔在门口"],
                     ["the delivery driver was really aggressive", "the delivery never came at the agreed time and I wasted a day",
                      "your courier just threw the parcel at my door"]),
    "cp-result": (["售后给的方案我不能接受", "你们补偿得太少了根本不够", "处理了半个月最后还是不了了之"],
                  ["the after-sales solution is not acceptable to me", "the compensation you offered is far too little",
                   "two weeks of back and forth and nothing came of it"]),
    "cp-escalate": (["再这样我就去法院", "我已经拍了视频准备发抖音", "这事必须给我个交代不然就上诉"],
                    ["I'll take you to court over this", "I've filmed everything and I'm posting it online",
                     "I demand an explanation or I'm going to the authorities"]),
    "cp-billing": (["没买的东西也收了我的钱还不认账", "你们的收费标准和宣传的不一样"],
                   ["you charged me for things I never ordered and won't admit it", "your fees are not what was advertised"]),
    "cp-privacy": (["我没同意你们就把我的信息给了第三方", "收件人信息被快递公司拿去卖了"],
                   ["you shared my data with third parties without my consent", "my address ended up with spammers after ordering from you"]),
    "cp-refund": (["退款拖到现在我真的很生气", "说好的退款又不认了太不讲理", "退个款要填这么多资料是故意刁难吧",
                   "你们退款审核员态度很差"],
                  ["I'm furious about how long my refund is taking", "you agreed to refund me and now you deny it, unbelievable",
                   "so many forms for a refund, you're obviously stalling", "the refund team was rude and unhelpful"]),
    "cp-repair": (["维修人员把我的{p}修得更坏了", "维修一直拖不给准信太不负责了", "上门维修的人态度很差还乱收费"],
                  ["your technician made my {p} worse", "the repair keeps dragging on and nobody takes responsibility",
                   "the repair man was rude and overcharged me"]),
    "rq-feature": (["希望{p}能增加童锁功能", "建议App支持扫码登录", "要是能设置每周自动备份就好了", "希望可以自定义首页",
                    "能不能加个一键分享"],
                   ["please add a child lock to the {p}", "it would be great to log in by scanning a QR code",
                    "a weekly automatic backup option would be useful", "I'd like to customise the home screen",
                    "could you add a one-tap share button"]),
    "rq-improve": (["建议App的加载速度再优化一下", "希望说明书有英文版", "{p}的操作逻辑可以再直观一点", "建议评价页面加上图片上传"],
                   ["the app could load faster", "an english version of the manual would help",
                    "the {p} controls could be more intuitive", "it would be nice to attach photos to reviews"]),
    "rq-integration": (["希望提供Java版SDK", "建议支持导出到Excel和CSV", "希望接口文档再详细一点"],
                       ["please publish a java SDK", "export to CSV would be helpful",
                        "the API documentation could be more detailed"]),
    "rq-logistics": (["建议多合作几家快递公司", "希望能开通海外直邮", "建议大件商品提供送装一体"],
                     ["it would be good to offer more courier choices", "please start shipping directly overseas",
                      "delivery with installation for big items would be welcome"]),
    "rq-service": (["建议客服能支持视频通话", "希望有老年人专属热线", "建议售后上门时间可以预约到晚上"],
                   ["video support would be a nice addition", "a dedicated hotline for elderly customers would be thoughtful",
                    "evening appointments for home repairs would help"]),
    "rq-product-new": (["希望{p}出个粉色款", "建议推出{p}的家庭套装", "能不能出个续航更长的{p}"],
                       ["a pink {p} would be lovely", "a family bundle of the {p} would be a great idea",
                        "please make a {p} with longer battery life"]),
    "ot-partner": (["我们是物流公司想跟贵司合作", "想了解一下贵司的供应商准入流程", "我们想把你们的产品放进我们的门店卖"],
                   ["we're a logistics company interested in working with you", "how does your supplier onboarding work",
                    "we'd like to stock your products in our stores"]),
    "ot-job": (["你们有没有暑期实习", "简历投过去多久有回复", "我想来你们这边做客服", "你们还招售后工程师吗"],
                ["do you have summer internships", "how long until I hear back about my CV",
                 "I'd like to work as a support agent for you", "are you recruiting after-sales engineers"]),
    "ot-media": (["我们杂志想做个专题报道", "想邀请贵司参加公益活动", "我们是研究机构想做个用户调研合作"],
                 ["our magazine would like to feature your company", "would you sponsor our charity run",
                  "we're a research institute proposing a joint user study"]),
    "ot-info": (["你们工作日几点下班", "你们公司注册地址是哪里", "你们在北京有办事处吗"],
                ["what time do you close on weekdays", "where is your company registered",
                 "do you have an office in Beijing"]),
    "ot-chat": (["早上好", "收到", "测试消息请忽略", "不好意思刚才发错人了", "好的谢谢你", "拜拜", "你好", "嗯"],
                ["good morning", "received", "test message please ignore", "thank you so much", "bye",
                 "hi there", "ok", "sorry, that message wasn't for you"]),
}

MORE_WORDINGS_3: dict[str, tuple[list[str], list[str]]] = {
    "ps-price": (["还没买想先问下{p}的价格区间", "准备入手{p}现在什么行情价", "{p}的批发价怎么算"],
                 ["before I buy, what price range is the {p} in", "I'm planning to get a {p}, what's it going for now",
                  "what's the wholesale price of the {p}"]),
    "ps-discount": (["打算下单{p}有没有内部价", "{p}开学季有活动吗", "现在入手{p}划算吗还是等活动"],
                    ["I'm about to order the {p}, any special price", "any back-to-school promotion on the {p}",
                     "should I buy the {p} now or wait for a sale"]),
    "ps-compare": (["第一次买{p}不太懂求推荐", "{p}基础款和高配款适合什么人", "预算有限买哪款{p}不踩坑"],
                   ["first time buying a {p}, what do you recommend", "who is the basic {p} for and who is the premium one for",
                    "on a budget, which {p} should I go for"]),
    "ps-spec": (["{p}有几档风速", "{p}自重多少斤方便搬吗", "{p}的屏幕是什么分辨率", "{p}续航标称多少小时"],
                ["how many speed settings does the {p} have", "is the {p} light enough to carry around",
                 "what resolution is the {p} screen", "what battery life is the {p} rated for"]),
    "ps-stock": (["想订{p}现在下单什么时候能发", "{p}缺货的话可以先预订吗"],
                 ["if I order the {p} today when could it be dispatched", "can I reserve the {p} while it's out of stock"]),
    "ps-howbuy": (["想入手{p}怎么付款", "门店买{p}和网上买价格一样吗", "{p}可以公对公采购吗"],
                  ["I'd like to get the {p}, how do I pay", "is buying the {p} in store the same price as online",
                   "can we buy the {p} on a company purchase order"]),
    "ps-warranty-pre": (["下单前问一下{p}有没有七天无理由", "买{p}的话售后服务怎么样", "{p}的保修要不要另外买"],
                        ["before ordering, can I return the {p} within seven days if I change my mind",
                         "what's after-sales support like if I buy the {p}", "do I need to buy warranty separately for the {p}"]),
    "ps-ship-pre": (["买了{p}大概多久能收到", "{p}下单后能指定快递公司吗", "偏远山区{p}包邮吗"],
                    ["if I buy the {p} how soon would I get it", "can I choose the courier when ordering the {p}",
                     "do you deliver the {p} to rural areas for free"]),
    "ps-compat": (["{p}能跟我现在用的安卓手机连吗", "买{p}前想确认下能不能连投影"],
                  ["will the {p} connect to the android phone I already have", "before buying, can the {p} connect to a projector"]),
    "as-nopower": (["刚收到的{p}怎么都开不了机", "{p}充电后也点不亮", "{p}按了电源没有任何反应急用"],
                   ["the {p} I just received won't turn on at all", "even after charging the {p} won't light up",
                    "I press the power button on my {p} and nothing, I need it urgently"]),
    "as-refund-howto": (["我下单的{p}还没发货能直接退款吗", "退货需要填什么信息", "上周买的{p}想退怎么操作"],
                        ["my {p} order hasn't shipped yet, can I just get a refund", "what information do I need for a return",
                         "I bought the {p} last week and want to return it, what do I do"]),
    "as-refund-missing": (["我的退款到现在都没到", "退货单显示完成了但退款一直没到账"],
                          ["my refund still hasn't come through", "the return is marked complete but the refund never arrived"]),
    "as-exchange": (["收到的{p}是二手的要求换新", "刚到的{p}外观有裂痕换一个", "买的{p}收到发现是坏的要换"],
                    ["the {p} I received looks used, I want a new one", "my new {p} arrived with a crack, please swap it",
                     "the {p} I ordered arrived faulty and I want an exchange"]),
    "as-repair": (["我的{p}坏了想送修", "去年买的{p}还在保修期能修吗", "{p}维修要寄到哪里"],
                  ["my {p} is broken and I want to send it for repair", "I bought the {p} last year, can it be repaired under warranty",
                   "where do I ship my {p} for repair"]),
    "as-howto": (["我买的{p}不会用怎么开机", "刚买的{p}怎么安装", "{p}的滤芯怎么换", "我的{p}怎么设置语言"],
                 ["I just bought the {p} and don't know how to start it", "how do I install the {p} I received",
                  "how do I replace the filter in my {p}", "how do I set the language on my {p}"]),
    "as-hwfault": (["我的{p}屏幕闪个不停", "{p}用着用着就没声了", "{p}的按键按下去没反应", "{p}充电充到一半就停了",
                    "{p}出水口一直漏水", "{p}显示屏有一块黑斑"],
                   ["my {p} screen keeps flashing", "the {p} loses sound halfway through use", "the buttons on my {p} don't respond",
                    "my {p} stops charging halfway", "water keeps leaking from the {p}", "there's a black patch on the {p} display"]),
    "as-bug": (["我的App一直提示更新失败", "App里的客服入口点不开", "App里的购物车清空不了"],
               ["my app keeps saying the update failed", "the support button in the app does nothing",
                "I can't clear my cart in the app"]),
    "as-logi-late": (["我买的{p}到底什么时候发货", "下单五天了物流还是没动", "我的快递是不是丢了一直没更新"],
                     ["I still have no dispatch date for my {p}", "five days since I ordered and the tracking hasn't moved",
                      "has my parcel been lost, there's no update"]),
    "as-funds": (["我的账户余额无故减少了", "同一笔钱被扣了两遍请马上处理"],
                 ["my account balance went down for no reason", "the same amount was debited twice, please fix it now"]),
    "as-outage": (["你们系统挂了我们所有员工都用不了", "后台一整天都打不开全公司停工"],
                  ["your system is down and none of our employees can use it", "the admin panel has been down all day and the company is at a standstill"]),
    "cp-attitude": (["对你们客服的服务非常不满意", "客服处理问题的态度让我很失望", "客服把责任全推给我"],
                    ["I'm very unhappy with the service from your agent", "your staff's attitude was a real disappointment",
                     "the agent blamed everything on me"]),
    "cp-slow": (["你们处理效率实在太低我要投诉", "我的问题拖了这么久到底有没有人管"],
                ["your slow handling is unacceptable and I want to complain", "this has dragged on forever, is anyone responsible"]),
    "cp-quality": (["花了钱买了个次品你们怎么解释", "{p}质量跟宣传的完全不一样我要投诉", "买的{p}这么差劲真后悔"],
                   ["I paid for a defective product, how do you explain that", "the {p} quality is nothing like advertised, I want to complain",
                    "I really regret buying this shoddy {p}"]),
    "cp-logistics": (["你们合作的快递太不靠谱了", "快递员送货态度太差我要投诉"],
                     ["the courier you use is so unreliable", "I want to complain about the delivery man's behaviour"]),
    "cp-result": (["上次投诉的事到现在也没个结果", "处理结果跟你们承诺的不一样", "你们售后处理问题太让人失望了"],
                  ["my earlier complaint still has no outcome", "what you did is not what you promised",
                   "your after-sales handling is very disappointing"]),
    "cp-refund": (["退款的事一拖再拖你们到底想怎样", "退款被拒还不告诉原因太不尊重人"],
                  ["you keep dragging out my refund, what are you playing at", "my refund was refused with no reason, that's disrespectful"]),
    "cp-repair": (["修了三次都修不好你们的维修水平太差", "说好三天修好结果拖了半个月"],
                  ["three repair attempts and still broken, your repair service is awful",
                   "you said three days for the repair and it took half a month"]),
    "rq-feature": (["建议以后的{p}加个夜灯", "希望App能增加订单提醒", "希望能支持多设备同时登录"],
                   ["please add a night light to future {p} models", "order reminders in the app would be nice",
                    "it would be great to stay logged in on several devices"]),
    "rq-improve": (["建议{p}的包装简化一点", "希望App的字再大一些方便老人用"],
                   ["the {p} packaging could be simpler", "bigger text in the app would help older users"]),
    "rq-service": (["建议售后增加上门安装服务", "希望客服响应能再快一点"],
                   ["it would be nice to offer home installation", "faster replies from support would be appreciated"]),
    "ot-job": (["请问有招聘信息吗", "我想投个简历试试", "你们的销售岗位还招吗"],
               ["are there any job vacancies", "I'd like to send my resume", "is the sales role still open"]),
    "ot-chat": (["谢谢客服", "好的没事了", "没别的事了", "明白了谢谢", "我再看看"],
                ["thanks, that's all", "no further questions", "understood, thank you", "I'll have a look myself", "cheers"]),
    "ot-info": (["你们公司是做什么的", "你们有线下门店吗在哪"],
                ["what does your company do", "where are your physical stores"]),
    "ot-partner": (["我们想成为你们的经销商", "有没有合作的机会"],
                   ["we'd like to become a dealer for you", "is there an opportunity to collaborate"]),
}

MORE_WORDINGS_4: dict[str, tuple[list[str], list[str]]] = {
    "ps-price": (["我想给家里添一台{p}大概要花多少", "{p}两台一起买多少钱"],
                 ["I'm thinking of getting a {p} for home, roughly how much would that be", "what would two {p}s cost together"]),
    "ps-discount": (["买{p}现在有什么活动", "{p}会员价和普通价差多少"],
                    ["what deals are running on the {p} right now", "how much cheaper is the {p} for members"]),
    "ps-compare": (["想给孩子买个{p}哪款合适", "{p}和同价位的别的牌子比怎么样"],
                   ["what {p} do you recommend for children", "how does the {p} stack up against others at the same price"]),
    "ps-spec": (["{p}有没有自动模式", "{p}用的是什么电池"], ["does the {p} have an automatic mode", "what kind of battery does the {p} use"]),
    "ps-howbuy": (["请问{p}怎么购买", "{p}能在你们App里买吗"], ["how can I purchase the {p}", "can I buy the {p} through your app"]),
    "ps-warranty-pre": (["{p}买回去坏了包换吗", "{p}的保修需要发票吗"],
                        ["if the {p} breaks after I buy it, will you replace it", "do I need the invoice to claim warranty on a new {p}"]),
    "ps-ship-pre": (["如果买{p}是从哪里发货", "{p}下单能送货到付吗"],
                    ["where would the {p} be shipped from if I order", "can I order the {p} and pay when it arrives"]),
    "ps-trial": (["{p}能不能先借用几天体验", "{p}有没有试用活动"], ["can I borrow the {p} to try it out", "is there a trial offer for the {p}"]),
    "as-howto": (["{p}收到了但是不知道怎么连接App", "新买的{p}怎么注册", "{p}的清洁模式在哪打开"],
                 ["my {p} arrived but I can't work out how to connect it to the app", "how do I register the {p} I bought",
                  "where do I turn on the cleaning mode on my {p}"]),
    "as-repair": (["保修期内的{p}去哪修", "{p}的维修费用能报一下吗"],
                  ["where can I get my {p} fixed under warranty", "can you tell me what the repair on my {p} will cost"]),
    "as-invoice": (["我买的{p}发票还没给我", "订单的发票开成个人了想改成公司"],
                   ["I still haven't got the invoice for my {p}", "my order invoice was made out to me personally, I need it in the company's name"]),
    "as-refund-howto": (["{p}买了三天了能无理由退吗", "退款申请提交后还要做什么"],
                        ["I bought the {p} three days ago, can I still return it", "what happens after I submit a refund request"]),
    "as-exchange": (["{p}收到发现发错颜色了", "我想把买的{p}换个型号"],
                    ["the {p} came in the wrong colour", "can the {p} I bought be swapped for a different model"]),
    "as-hwfault": (["{p}才买一个月就有故障", "{p}的电池不耐用了", "{p}出风口不出风"],
                   ["my {p} developed a fault after a month", "the {p} battery doesn't hold charge anymore",
                    "no air comes out of the {p}"]),
    "as-logi-late": (["物流一直显示待揽收", "我的货什么时候能送到"],
                     ["the tracking still says awaiting pickup", "when will my goods be delivered"]),
    "as-account": (["账号登录提示密码错误但我没改过", "怎么换绑手机"],
                   ["it says my password is wrong but I never changed it", "how do I switch the phone linked to my account"]),
    "cp-attitude": (["客服的服务让我非常不爽", "你们客服太没礼貌了"],
                    ["I'm really annoyed with how your agent treated me", "your support staff have no manners"]),
    "cp-slow": (["等你们回复等得我都要崩溃了", "一个简单的问题你们处理了一个礼拜"],
                ["waiting for your reply is driving me mad", "a simple question and you took a week to deal with it"]),
    "cp-quality": (["{p}质量问题太多了你们就这么对待消费者", "这{p}质量真不行我对你们很失望"],
                   ["so many quality problems with the {p}, is this how you treat customers",
                    "the {p} quality is so bad, I'm very disappointed in you"]),
    "cp-logistics": (["你们选的快递公司服务太烂了", "快递员冒充我签收我要投诉"],
                     ["the courier company you picked is terrible", "the courier forged my signature, I'm filing a complaint"]),
    "cp-result": (["你们给的处理结果我不认可", "为什么每次都让我自己想办法"],
                  ["I do not accept the outcome you gave me", "why do I always have to sort things out myself"]),
    "cp-refund": (["退款退得这么慢你们是故意的吧", "为了退款打了十几个电话还没解决我很不满"],
                  ["refunds this slow must be deliberate", "a dozen calls about my refund and still nothing, I'm fed up"]),
    "cp-repair": (["维修师傅爽约了两次太不靠谱", "修好的{p}没两天又坏了你们怎么修的"],
                  ["the technician stood me up twice, totally unreliable", "the {p} broke again two days after your repair, what did you even do"]),
    "cp-billing": (["你们扣的服务费根本没提前说", "被多收了运费还不给退"],
                   ["the service charge you took was never disclosed", "you overcharged me for shipping and won't give it back"]),
    "rq-feature": (["希望{p}能加个省电模式", "建议App加个暗黑模式"], ["a power saving mode on the {p} would be welcome", "please give the app a dark theme"]),
    "rq-improve": (["建议优化一下App的搜索", "{p}的提示音可以换得柔和一点"],
                   ["the app search needs improving", "the {p} alert tone could be softer"]),
    "rq-product-new": (["建议出一款静音版的{p}", "希望{p}有大尺寸的选择"],
                       ["you should launch a quiet version of the {p}", "I'd like a larger size option for the {p}"]),
    "rq-logistics": (["建议快递能送到门口而不是驿站", "希望可以指定快递员送货时间段"],
                     ["deliveries to the door rather than a pickup station would be better", "letting us choose a delivery window would be nice"]),
    "ot-chat": (["好的我知道了谢谢", "没有问题了", "嗯嗯收到", "打错字了", "在吗在吗"],
                ["alright, thanks", "that's everything", "got it, cheers", "typo, ignore", "anyone around"]),
    "ot-job": (["你们公司在招客服吗", "请问HR怎么联系"], ["is your company hiring support staff", "how do I reach your HR team"]),
    "ot-info": (["你们客服几点上班", "公司地址能发我一下吗"], ["what time does your support open", "can you send me your company address"]),
    "ot-media": (["我们想采访一下你们的创始人", "想邀请你们参加一个行业论坛"],
                 ["we'd like to interview your founder", "we're inviting you to an industry forum"]),
}

MORE_WORDINGS_5: dict[str, tuple[list[str], list[str]]] = {
    "ps-price": (["打算买{p}先了解下多少钱", "{p}的官方价格能告诉我吗"],
                 ["I'm considering the {p}, what would it set me back", "what's the official price for the {p}"]),
    "ps-compare": (["纠结要不要买{p}想听听建议", "{p}适不适合新手用"],
                   ["I can't decide whether to buy the {p}, any advice", "is the {p} suitable for beginners"]),
    "ps-spec": (["{p}能用多少年", "{p}的材质安全吗适合宝宝用吗"],
                ["how many years does the {p} typically last", "is the {p} made of safe materials for babies"]),
    "ps-howbuy": (["第一次在你们这买东西{p}怎么下单", "{p}能不能线下提货线上付款"],
                  ["first time shopping with you, how do I order the {p}", "can I pay online and collect the {p} in a shop"]),
    "ps-warranty-pre": (["{p}保修期从哪天开始算", "想买{p}但担心坏了没人管"],
                        ["when does the warranty on the {p} start", "I want the {p} but worry about support if it breaks"]),
    "ps-ship-pre": (["买{p}能送到公司吗", "{p}一般多久发货"], ["can the {p} be delivered to my workplace", "how quickly do you usually dispatch the {p}"]),
    "ps-stock": (["{p}这个型号还生产吗", "{p}什么时候开售"], ["is this {p} model still being made", "when does the {p} go on sale"]),
    "as-howto": (["我的{p}怎么调温度", "家里的{p}怎么设置自动清扫", "{p}用完怎么收纳"],
                 ["how do I adjust the temperature on my {p}", "how do I set my {p} to clean automatically",
                  "how should I store my {p} after use"]),
    "as-repair": (["我的{p}摔了一下能修吗", "{p}维修期间有备用机吗"],
                  ["I dropped my {p}, can it be repaired", "can I get a loaner while my {p} is being repaired"]),
    "as-account": (["我的账号怎么改名字", "会员到期了怎么续费"], ["can I change my username", "my membership expired, how do I renew it"]),
    "as-invoice": (["我订单的发票在哪里看", "发票开好了吗"], ["where can I see the invoice for my order", "is my invoice done yet"]),
    "as-exchange": (["收到的{p}跟我下单的不一样", "{p}包装破损里面东西也有划痕要换"],
                    ["the {p} I got isn't what I ordered", "the {p} box was damaged and the item is scratched, I want a replacement"]),
    "as-hwfault": (["{p}用一会就断电", "{p}的屏幕有亮点", "{p}蓝牙老是断"],
                   ["the {p} cuts out after a short while", "there are bright spots on the {p} screen", "the {p} bluetooth keeps dropping"]),
    "as-nopower": (["{p}彻底开不了机了", "{p}黑屏按什么键都没用"], ["my {p} is completely dead", "the {p} screen is black and no button does anything"]),
    "as-logi-late": (["我的快递三天没动了", "订单显示已发货但一直没物流"], ["my parcel hasn't moved in three days", "it says shipped but there's no tracking at all"]),
    "as-refund-howto": (["退货的运费能报销吗", "我要退款怎么申请"], ["will you cover the return postage", "I want a refund, how do I apply"]),
    "cp-attitude": (["你们客服太不专业了让人很生气", "客服骗我说已经处理了"],
                    ["your agents are so unprofessional it makes me angry", "the agent lied and said it was already handled"]),
    "cp-slow": (["打客服电话要等半小时你们也太慢了", "问题反映了两周没人跟进我很不满"],
                ["half an hour on hold every time, you're far too slow", "two weeks since I reported it and no follow-up, I'm not happy"]),
    "cp-quality": (["这质量我真的无语了", "{p}做工太差根本对不起这个价"],
                   ["I'm speechless at this quality", "the {p} build quality is nowhere near worth the price"]),
    "cp-result": (["你们这样处理问题我很不满意", "一直让我等通知到底要等多久"],
                  ["I'm very unhappy with how you handled this", "you keep telling me to wait for a notice, how much longer"]),
    "cp-refund": (["退款不给退还态度恶劣", "退款说好三天结果十天了还要我等我要投诉"],
                  ["you won't refund me and you're rude about it", "you promised the refund in three days, it's been ten, I'm filing a complaint"]),
    "cp-repair": (["维修等了这么久还修不好我很失望", "你们的维修服务真的太差了"],
                  ["I waited ages for the repair and it's still broken, very disappointing", "your repair service is honestly terrible"]),
    "cp-logistics": (["快递员态度恶劣我要投诉他", "你们家的配送真是一次比一次差"],
                     ["the courier was nasty and I'm reporting him", "your deliveries get worse every time"]),
    "cp-billing": (["你们乱扣我钱还不解释", "会员费悄悄涨价太坑人了"],
                   ["you took money from me without explanation", "you quietly raised the membership fee, that's a rip-off"]),
    "rq-feature": (["希望App能加个家庭组功能", "能不能增加一个数据统计页面"],
                   ["it would be great to have family groups in the app", "could you add a statistics page"]),
    "rq-improve": (["建议把设置页面做得清楚一点", "希望{p}的说明更通俗易懂"],
                   ["the settings page could be clearer", "the {p} instructions should be easier to understand"]),
    "rq-service": (["建议开通海外客服热线", "希望能在线预约售后"],
                   ["an overseas support line would be helpful", "it would be nice to book after-sales appointments online"]),
    "ot-chat": (["已经好了不用了", "就是问问没别的", "好滴", "谢谢啊", "OK的"],
                ["all fine now, no need", "just checking in", "okie", "thanks a lot", "ok cool"]),
    "ot-job": (["你们公司招不招应届毕业生", "我想问下你们的岗位待遇"], ["do you hire fresh graduates", "what are the salaries like for your positions"]),
    "ot-info": (["你们的营业执照能看一下吗", "你们公司是哪年成立的"], ["can I see your business licence", "what year was your company founded"]),
    "ot-partner": (["我们想做你们的区域经销", "我们有渠道资源想谈合作"], ["we want to distribute your products in our region", "we have sales channels and want to partner"]),
    "ot-media": (["我们是高校想请贵司来做讲座", "某网站想约个专访"], ["our university would like you to give a talk", "a website would like an exclusive interview"]),
}

MORE_WORDINGS_6: dict[str, tuple[list[str], list[str]]] = {
    "as-howto": (["买回来的{p}怎么用啊", "{p}的使用方法能教一下吗", "{p}到手了第一步该做什么"],
                 ["I'm not sure how to operate my new {p}", "can you walk me through using my {p}", "I've got my {p}, what's the first step"]),
    "as-repair": (["我家{p}坏了能上门修吗", "之前买的{p}出故障了怎么报修"],
                  ["my {p} at home broke, can someone come fix it", "the {p} I bought earlier has a fault, how do I report it for repair"]),
    "as-account": (["我的会员怎么查到期时间", "账号绑定的邮箱怎么换"], ["how do I check when my membership ends", "how do I change the email on my account"]),
    "as-invoice": (["已经买了的{p}能补发票吗", "发票上的品名不对"], ["can I get an invoice for a {p} I already bought", "the item name on my invoice is wrong"]),
    "as-refund-howto": (["已经下单的{p}怎么取消", "退货退款要多长时间"], ["how do I cancel the {p} I ordered", "after I send the {p} back, when do I get my money"]),
    "as-exchange": (["买的{p}不合适能换别的吗"], ["the {p} I bought doesn't fit my needs, can I exchange it for something else"]),
    "as-logi-late": (["我的订单怎么还没发", "买的东西到哪了能查一下吗"], ["why hasn't my order been sent yet", "can you check where my purchase is"]),
    "ps-compare": (["买{p}的话哪款最值", "准备入手{p}帮忙推荐下"], ["if I'm buying a {p}, which is the best value", "about to buy a {p}, please recommend one"]),
    "ps-spec": (["{p}有没有定时功能", "{p}支持哪些语言"], ["does the {p} have a timer function", "which languages does the {p} support"]),
    "ps-price": (["{p}现在入手要多少", "{p}加急发货要加钱吗"], ["how much to get the {p} now", "is there a fee for express dispatch of the {p}"]),
    "cp-attitude": (["客服说话态度差还不让我说完", "你们客服就会说抱歉什么也不做"],
                    ["your agent kept interrupting me and was rude", "your support just says sorry and does nothing"]),
    "cp-result": (["问题一直解决不了我对你们太失望了", "都第三次找你们了还是没人解决"],
                  ["you never solve anything, I'm so let down", "third time contacting you and still no solution"]),
    "cp-slow": (["工单提交了一直没人处理太差劲了", "催了好几次都没有进展"], ["my ticket has sat untouched, that's poor", "I've chased several times and nothing moves"]),
    "cp-quality": (["刚买的{p}就有毛病你们还卖", "{p}质量太次了我要投诉你们"],
                   ["the {p} was faulty from day one and you still sell it", "the {p} is shoddy and I'm complaining"]),
    "cp-logistics": (["快递一拖再拖你们也不管", "送货的乱放东西丢了谁负责"],
                     ["deliveries keep slipping and you don't care", "the courier left it anywhere, who is responsible now it's gone"]),
    "cp-refund": (["退款的事找了你们五次还是推脱", "你们退款速度慢得离谱"], ["five times I've asked about my refund and you keep dodging", "your refunds are absurdly slow"]),
    "cp-repair": (["修个东西要等一个月太离谱了", "维修后问题依旧你们得给个说法"],
                  ["a month to fix something is absurd", "still faulty after the repair, I want an explanation"]),
    "rq-feature": (["希望以后能支持语音下单", "建议增加一个收藏商品的功能"], ["voice ordering would be a nice feature", "a way to save favourite products would help"]),
    "rq-product-new": (["能不能出一款更小巧的{p}", "希望出个防水款{p}"], ["please release a more compact {p}", "a waterproof {p} would be great"]),
    "ot-chat": (["我就是随便看看", "没事了拜拜", "你好呀"], ["just browsing", "all good, bye", "hey hello"]),
    "ot-job": (["想应聘仓库的工作", "招聘邮箱是哪个"], ["I want to apply for a warehouse job", "which email do job applications go to"]),
    "ot-info": (["你们的邮编是多少", "公司总机电话多少"], ["what's your postcode", "what's your main switchboard number"]),
}

def issues() -> list[tuple[str, str, str, str, list[str], list[str]]]:
    """Every issue with its v1 wordings first, then the v2 and v3 wordings appended (earlier indices
    unchanged), labelled as of now (v5's relabels applied: ``relabels``)."""
    v3 = json.loads(WORDINGS_V3.read_text(encoding="utf-8"))
    relabel = relabels()
    unknown = (set(relabel) | set(MORE_WORDINGS) | set(MORE_WORDINGS_2) | set(MORE_WORDINGS_3)
               | set(MORE_WORDINGS_4) | set(MORE_WORDINGS_5) | set(MORE_WORDINGS_6) | set(v3)) - {
        i[0] for i in ISSUES + NEW_ISSUES}
    if unknown:
        raise ValueError(f"wordings or relabels for unknown issues: {sorted(unknown)}")
    bad = {i: r.get("priority") for i, r in relabel.items() if r.get("priority") not in PRIORITIES}
    if bad:
        raise ValueError(f"relabel to unknown priorities: {bad}")
    out = []
    for issue, category, module, priority, zh, en in ISSUES + NEW_ISSUES:
        more_zh, more_en = MORE_WORDINGS.get(issue, ([], []))
        zh2, en2 = MORE_WORDINGS_2.get(issue, ([], []))
        zh3, en3 = MORE_WORDINGS_3.get(issue, ([], []))
        zh4, en4 = MORE_WORDINGS_4.get(issue, ([], []))
        zh5, en5 = MORE_WORDINGS_5.get(issue, ([], []))
        zh6, en6 = MORE_WORDINGS_6.get(issue, ([], []))
        zh7, en7 = v3.get(issue, {}).get("zh", []), v3.get(issue, {}).get("en", [])
        priority = relabel.get(issue, {}).get("priority", priority)
        out.append((issue, category, module, priority, zh + more_zh + zh2 + zh3 + zh4 + zh5 + zh6 + zh7,
                    en + more_en + en2 + en3 + en4 + en5 + en6 + en7))
    return out

PRODUCTS_ZH = ["手机", "平板", "耳机", "扫地机器人", "空气净化器", "智能手表", "笔记本电脑", "路由器", "电饭煲", "会员服务",
               "蓝牙音箱", "电动牙刷", "投影仪", "加湿器"]
PRODUCTS_EN = ["phone", "tablet", "headphones", "robot vacuum", "air purifier", "smart watch", "laptop", "router",
               "rice cooker", "membership", "bluetooth speaker", "electric toothbrush", "projector", "humidifier"]
OPEN_ZH = ["", "", "", "你好，", "您好，", "客服你好，", "在吗？", "麻烦问一下，", "请问", "打扰一下，", "亲，", "喂，",
           "hello，", "客服客服，"]
CONTEXT_ZH = ["", "", "", "", "订单号 [order]，", "上周买的，", "昨天刚收到，", "在你们官网买的，", "我是老客户了，",
              "朋友推荐的，", "我姓王，", "京东上看到的，", "帮我爸问一下，"]
CLOSE_ZH = ["", "", "", "。", "，谢谢", "，麻烦尽快处理", "，急！", "，等回复", "，请回电 [phone]", "。", "？", "啊", "呢",
            "！！", "，在线等"]
OPEN_EN = ["", "", "", "Hi, ", "Hello, ", "Dear support, ", "Good morning, ", "Quick question: ", "hey ", "Hi team, "]
CONTEXT_EN = ["", "", "", "", "order [order]: ", "I bought it last week and ", "I'm a long-time customer and ",
              "just received it and ", "my name is Anna, ", "following up: "]
CLOSE_EN = ["", "", ".", ", thanks", ", please help", ". Please reply ASAP", ", call me at [phone]", "!", "?",
            " thx", ". Regards, Tom"]
SUBJECTS_ZH = ["", "", "", "", "", "咨询", "问题反馈", "求助", "关于订单", "客户来电"]
SUBJECTS_EN = ["", "", "", "", "", "Question", "Help needed", "About my order", "Enquiry", "Support request"]
PURCHASED = {"订单号 [order]，", "上周买的，", "昨天刚收到，", "在你们官网买的，", "order [order]: ", "I bought it last week and ",
             "just received it and ", "关于订单", "About my order"}
"""Contexts and subjects that say the customer already bought something (v2): not put in front of a
pre-sales question or an unrelated contact (v1 did: "昨天刚收到，耳机贵不贵" was labelled pre-sales),
nor an order subject in front of a suggestion."""


def _fitting(options: list[str], category: str) -> list[str]:
    """The openings/contexts/subjects that do not contradict ``category``."""
    if category in ("pre_sales", "other"):
        return [o for o in options if o not in PURCHASED]
    if category == "requirement":
        return [o for o in options if o not in ("关于订单", "About my order")]
    return options
PER_CATEGORY = 400
"""About this many examples per category: each wording gets 3–6 examples (different product, opening,
context, closing and noise), more when its category has fewer wordings."""


def _held_out(wordings: list[str], index: int) -> bool:
    """Every fourth wording (index 3, 7, …) is held out; lists shorter than four hold out none."""
    return index % 4 == 3


LEAK_THRESHOLD = 0.5
"""A train wording this similar to a held-out one (Jaccard of character trigrams, ``{p}`` removed, any
issue of the same language) makes the build fail: the held-out split must be new phrasings, not near
copies of trained ones."""


def _trigrams(wording: str) -> set[str]:
    s = " ".join(wording.replace("{p}", " ").casefold().split())
    return {s[i:i + 3] for i in range(max(1, len(s) - 2))}


def similarity(a: str, b: str) -> float:
    ga, gb = _trigrams(a), _trigrams(b)
    return len(ga & gb) / len(ga | gb) if ga and gb else 0.0


def _wordings(all_issues: list[tuple[str, str, str, str, list[str], list[str]]], lang: int, *,
              held_out: bool) -> list[str]:
    """Every wording of one language (issue tuple index 4 zh, 5 en) on one side of the split."""
    return [w for i in all_issues for k, w in enumerate(i[lang]) if _held_out(i[lang], k) == held_out]


def _leak_check(all_issues: list[tuple[str, str, str, str, list[str], list[str]]]) -> list[tuple[float, str, str]]:
    """The closest train wording of every held-out wording; raises when one is a near copy."""
    closest: list[tuple[float, str, str]] = []
    for lang in (4, 5):
        train, test = _wordings(all_issues, lang, held_out=False), _wordings(all_issues, lang, held_out=True)
        for w in test:
            closest.append(max(((similarity(w, t), w, t) for t in train), key=lambda x: x[0]))
    closest.sort(reverse=True)
    leaks = [c for c in closest if c[0] >= LEAK_THRESHOLD]
    if leaks:
        raise ValueError("held-out wordings too close to train wordings: " + "; ".join(f"{w!r}~{t!r} {s:.2f}"
                                                                                         for s, w, t in leaks))
    return closest


def _typo(text: str, rng: random.Random) -> str:
    """One realistic slip in an English text: a swapped, doubled or dropped letter in a longer word."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == 1:
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + w[j + 1:]
    words[i] = w
    return " ".join(words)


_FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}


def _noise(text: str, lang: str, rng: random.Random) -> str:
    """Light noise customers really produce: typos and all-lowercase in English, full-width latin letters
    and digits in Chinese (IME), no punctuation at all in quick chat messages."""
    r = rng.random()
    if lang == "en":
        if r < 0.15:
            text = _typo(text, rng)
        elif r < 0.25:
            text = text.lower()
    elif r < 0.08:
        text = "".join(_FULL_WIDTH.get(c, c) for c in text)
    if rng.random() < 0.1:
        text = text.rstrip(".!?。！？，, ")
    return text


def _examples(issue: tuple[str, str, str, str, list[str], list[str]], lang: str, wording: str, group: str, split: str,
              per_wording: int, rng: random.Random, seen: set[str]) -> list[dict[str, str]]:
    """``per_wording`` examples of one wording: placed in openings, contexts and closings that fit its
    category, with light noise; texts already in ``seen`` are not repeated."""
    _, category, module, priority, _, _ = issue
    contexts_zh, contexts_en = _fitting(CONTEXT_ZH, category), _fitting(CONTEXT_EN, category)
    subjects_zh, subjects_en = _fitting(SUBJECTS_ZH, category), _fitting(SUBJECTS_EN, category)
    rows: list[dict[str, str]] = []
    attempts = 0
    while len(rows) < per_wording and attempts < per_wording * 30:
        attempts += 1
        if lang == "zh":
            core = wording.replace("{p}", rng.choice(PRODUCTS_ZH))
            text = rng.choice(OPEN_ZH) + rng.choice(contexts_zh) + core + rng.choice(CLOSE_ZH)
            subject = rng.choice(subjects_zh)
        else:
            core = wording.replace("{p}", rng.choice(PRODUCTS_EN))
            opener, context = rng.choice(OPEN_EN), rng.choice(contexts_en)
            text = opener + context + (core if (opener or context) else core[:1].upper() + core[1:])
            text += rng.choice(CLOSE_EN)
            subject = rng.choice(subjects_en)
        text = _noise(text, lang, rng)
        if subject:
            text = f"{subject}\n{text}"
        if text in seen:
            continue
        seen.add(text)
        rows.append({"text": text, "category": category, "module": module, "priority": priority,
                     "lang": lang, "group": group, "split": split})
    return rows


def train_only_wordings() -> dict[str, dict[str, list[str]]]:
    """v4's wordings (issue id → {"zh": [...], "en": [...]}): train split only."""
    return json.loads(WORDINGS_V4_TRAIN.read_text(encoding="utf-8"))


def _leak_check_train_only(all_issues: list[tuple[str, str, str, str, list[str], list[str]]],
                           extra: dict[str, dict[str, list[str]]]) -> None:
    """A train-only wording must not be a near copy of any held-out wording (same test as ``_leak_check``)."""
    leaks = []
    for lang, li in (("zh", 4), ("en", 5)):
        test = _wordings(all_issues, li, held_out=True)
        for words in extra.values():
            for w in words.get(lang, []):
                for t in test:
                    if similarity(w, t) >= LEAK_THRESHOLD:
                        leaks.append(f"{w!r}~{t!r}")
    if leaks:
        raise ValueError("train-only wordings too close to held-out wordings: " + "; ".join(leaks))


def _v5() -> dict:
    return json.loads(WORDINGS_V5_TRAIN.read_text(encoding="utf-8"))


def relabels() -> dict[str, dict[str, str]]:
    """v5's relabelled issues: issue id → {"priority": new priority, "why": reason}."""
    return _v5().get("relabel", {})


def v5_new_issues() -> list[tuple[str, str, str, str, list[str], list[str]]]:
    """The issues new in v5 (train-only: no wordings on the v3 side, so nothing of theirs is held out)."""
    out = []
    for issue, labels in _v5()["issues"].items():
        category, module, priority = labels["category"], labels["module"], labels["priority"]
        if category not in CATEGORIES or module not in MODULES or priority not in PRIORITIES:
            raise ValueError(f"bad labels for {issue}: {labels}")
        out.append((issue, category, module, priority, [], []))
    return out


def v5_wordings() -> dict[str, dict[str, list[str]]]:
    """v5's train-only wordings (issue id → {"zh": [...], "en": [...]}), for new and existing issues."""
    return _v5()["wordings"]


def _normal(wording: str) -> str:
    return " ".join(wording.casefold().split())


def _duplicate_check(all_issues: list[tuple[str, str, str, str, list[str], list[str]]],
                     earlier: list[dict[str, dict[str, list[str]]]],
                     extra: dict[str, dict[str, list[str]]]) -> None:
    """A new train-only wording must not repeat (case and spacing aside) an earlier wording or another new
    one."""
    known = {_normal(w) for i in all_issues for w in i[4] + i[5]}
    known |= {_normal(w) for e in earlier for words in e.values() for lang in ("zh", "en")
              for w in words.get(lang, [])}
    repeated = []
    for words in extra.values():
        for lang in ("zh", "en"):
            for w in words.get(lang, []):
                if _normal(w) in known:
                    repeated.append(w)
                known.add(_normal(w))
    if repeated:
        raise ValueError(f"train-only wordings repeat existing ones: {repeated}")


def build() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    all_issues = issues()
    _leak_check(all_issues)
    wordings_in = {c: sum(len(i[4]) + len(i[5]) for i in all_issues if i[1] == c) for c in {i[1] for i in all_issues}}
    per_wording = {c: min(6, max(3, -(-PER_CATEGORY // n))) for c, n in wordings_in.items()}
    for issue in all_issues:
        for lang, wordings in (("zh", issue[4]), ("en", issue[5])):
            for k, wording in enumerate(wordings):
                split, group = ("test" if _held_out(wordings, k) else "train"), f"{issue[0]}:{lang}:{k}"
                rows += _examples(issue, lang, wording, group, split, per_wording[issue[1]], rng, seen)
    rng.shuffle(rows)
    # v4: train-only wordings, after every v3 row and with their own random stream, so the v3 rows (and so
    # the held-out split) are byte for byte what v3 shipped
    extra = train_only_wordings()
    unknown = set(extra) - {i[0] for i in all_issues}
    if unknown:
        raise ValueError(f"train-only wordings for unknown issues: {sorted(unknown)}")
    _leak_check_train_only(all_issues, extra)
    extra_rng, extra_rows = random.Random(SEED + 4), []
    for issue in all_issues:
        for lang in ("zh", "en"):
            for k, wording in enumerate(extra.get(issue[0], {}).get(lang, [])):
                extra_rows += _examples(issue, lang, wording, f"{issue[0]}:{lang}:t{k}", "train",
                                        per_wording[issue[1]], extra_rng, seen)
    extra_rng.shuffle(extra_rows)
    # v5: more train-only wordings (new funds-safety and pre-sales money issues, upset after-sales wordings),
    # after every v4 row, with their own random stream; the new issues have no held-out wordings
    new_issues = v5_new_issues()
    clash = {i[0] for i in new_issues} & {i[0] for i in all_issues}
    if clash:
        raise ValueError(f"v5 issues already exist: {sorted(clash)}")
    v5 = v5_wordings()
    unknown = set(v5) - {i[0] for i in all_issues + new_issues}
    if unknown:
        raise ValueError(f"v5 wordings for unknown issues: {sorted(unknown)}")
    _leak_check_train_only(all_issues, v5)
    _duplicate_check(all_issues, [extra], v5)
    v5_rng, v5_rows = random.Random(SEED + 5), []
    for issue in all_issues + new_issues:
        for lang in ("zh", "en"):
            for k, wording in enumerate(v5.get(issue[0], {}).get(lang, [])):
                v5_rows += _examples(issue, lang, wording, f"{issue[0]}:{lang}:v{k}", "train",
                                     per_wording[issue[1]], v5_rng, seen)
    v5_rng.shuffle(v5_rows)
    return rows + extra_rows + v5_rows


def main() -> None:
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()[:12]
    print(f"wrote {len(rows)} examples to {OUT} (sha256 {digest})")


if __name__ == "__main__":
    main()
