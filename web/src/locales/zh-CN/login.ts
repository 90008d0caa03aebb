export default {
  title: '登录',
  subtitle: '会员制积分店铺管理',
  username: '用户名',
  password: '密码',
  totp: '两步验证码',
  totpHint: '请输入验证器 App 中的 6 位数字，或一个恢复码',
  submit: '登录',
  usernameRequired: '请输入用户名',
  passwordRequired: '请输入密码',
}
