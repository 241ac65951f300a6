"""Builds ``training_v1.jsonl``, the labelled bilingual training set shipped with the classifier.

Run ``uv run python -m classifier.data.build_training`` to regenerate (deterministic, seed 20261125).

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
    pre-purchase questions about warranty, invoices or delivery times);
  - ``after_sales`` 售后支持: help with something bought or an account in use (faults, how-to, refunds,
    returns, repairs, deliveries of an order, invoices of a purchase, charges, outages, security);
  - ``complaint`` 投诉建议: the customer expresses dissatisfaction with the company, its staff, partner
    couriers or the handling of a case, or threatens escalation (12315, media, lawyer) — this wins
    over the topic (a complaint about a refund is a complaint);
  - ``requirement`` 需求: a suggestion or a wish for a new feature / product / service option, no fault;
  - ``other`` 其他: no customer-service request about our products (partnership, media, jobs, chit-chat,
    wrong number, company address/hours).
* module — where the work is done: ``logistics`` shipping/delivery/couriers; ``technical`` app,
  software, accounts, system access, integrations, data; ``after_sales`` device faults, refunds, returns,
  repairs, invoices, charges; ``product`` product information, product quality, general matters.
* priority (seed 004):
  - P1 funds safety (unauthorised/double charges, vanished balance, frozen funds), core outage (many
    users / nobody can log in), account takeover, physical safety risk (smoke, fire, shock);
  - P2 the customer cannot use what they bought (dead device, blocked account/app, missing refund,
    lost/damaged parcel, urgent delivery) or an escalation threat / billing or privacy complaint;
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

OUT = Path(__file__).with_name("training_v1.jsonl")
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
PER_CATEGORY = 400
"""About this many examples per category: each wording gets 3–6 examples (different product, opening,
context, closing and noise), more when its category has fewer wordings."""


def _held_out(wordings: list[str], index: int) -> bool:
    """Every fourth wording (index 3, 7, …) is held out; lists shorter than four hold out none."""
    return index % 4 == 3


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


def build() -> list[dict[str, str]]:
    rng = random.Random(SEED)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    wordings_in = {c: sum(len(i[4]) + len(i[5]) for i in ISSUES if i[1] == c) for c in {i[1] for i in ISSUES}}
    for issue, category, module, priority, zh, en in ISSUES:
        per_wording = min(6, max(3, -(-PER_CATEGORY // wordings_in[category])))
        for lang, wordings in (("zh", zh), ("en", en)):
            for k, wording in enumerate(wordings):
                split, group = ("test" if _held_out(wordings, k) else "train"), f"{issue}:{lang}:{k}"
                made = attempts = 0
                while made < per_wording and attempts < per_wording * 30:
                    attempts += 1
                    if lang == "zh":
                        core = wording.replace("{p}", rng.choice(PRODUCTS_ZH))
                        text = rng.choice(OPEN_ZH) + rng.choice(CONTEXT_ZH) + core + rng.choice(CLOSE_ZH)
                        subject = rng.choice(SUBJECTS_ZH)
                    else:
                        core = wording.replace("{p}", rng.choice(PRODUCTS_EN))
                        opener, context = rng.choice(OPEN_EN), rng.choice(CONTEXT_EN)
                        text = opener + context + (core if (opener or context) else core[:1].upper() + core[1:])
                        text += rng.choice(CLOSE_EN)
                        subject = rng.choice(SUBJECTS_EN)
                    text = _noise(text, lang, rng)
                    if subject:
                        text = f"{subject}\n{text}"
                    if text in seen:
                        continue
                    seen.add(text)
                    made += 1
                    rows.append({"text": text, "category": category, "module": module, "priority": priority,
                                 "lang": lang, "group": group, "split": split})
    rng.shuffle(rows)
    return rows


def main() -> None:
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()[:12]
    print(f"wrote {len(rows)} examples to {OUT} (sha256 {digest})")


if __name__ == "__main__":
    main()
